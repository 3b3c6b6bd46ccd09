import type { ClassConstructor } from 'class-transformer';
import { ValidationArguments, ValidationTypes, getMetadataStorage } from 'class-validator';
import type { ValidationMetadata } from 'class-validator/types/metadata/ValidationMetadata';

// class-transformer keeps `@Type` targets in a storage its main entry does not export (0.5.x has no
// `exports` map, so the file is reachable; its typings live under types/).
const { defaultMetadataStorage } = require('class-transformer/cjs/storage') as typeof import('class-transformer/types/storage');

/**
 * A faster way to reach class-validator's "valid", for the messages mParticle sends thousands of times a
 * second. class-transformer and class-validator cost about 2 ms for a message of 50 profiles (they look up
 * metadata and build an error tree for every nested object, even when nothing is wrong).
 *
 * A plan is compiled once per class from the same decorator metadata class-validator uses (no second set
 * of rules): per property its optional-conditions (`@IsOptional`), the constraint instances of its
 * decorators, called with the same arguments class-validator passes, and the nested class of
 * `@ValidateNested` (class-transformer's `@Type`). Running it on a parsed body answers either "valid as
 * it is" (unknown fields removed, as `whitelist` does) or "not sure". Only the first skips
 * class-transformer and class-validator; anything else (an invalid value, a shape the plan does not
 * model, an async constraint) goes the slow way, which decides and names every problem.
 *
 * A class whose metadata holds anything the plan does not model gets no plan, so that class always goes
 * the slow way. The equivalence (fast "valid" ⇒ class-validator's "valid" and the same object) is
 * proven by a property test over valid and mutated messages (`validation-plan.spec.ts`).
 */
interface PropertyPlan {
  name: string;
  conditions: ((object: object, value: unknown) => boolean)[];
  checks: { metadata: ValidationMetadata; validate: (value: unknown, args: ValidationArguments) => unknown }[];
  nested?: () => ClassPlan | undefined;
}

interface ClassPlan {
  target: ClassConstructor<object>;
  known: Set<string>;
  properties: PropertyPlan[];
}

const MODELLED = new Set<string>([
  ValidationTypes.CUSTOM_VALIDATION,
  ValidationTypes.NESTED_VALIDATION,
  ValidationTypes.CONDITIONAL_VALIDATION,
  ValidationTypes.WHITELIST,
]);

const plans = new Map<ClassConstructor<object>, ClassPlan | undefined>();

/** The plan of `target`, or undefined when its metadata holds something the plan does not model. */
export function validationPlan(target: ClassConstructor<object>): ClassPlan | undefined {
  if (plans.has(target)) return plans.get(target);
  plans.set(target, undefined); // a class nested in itself: no plan while compiling
  const plan = compile(target);
  plans.set(target, plan);
  return plan;
}

function compile(target: ClassConstructor<object>): ClassPlan | undefined {
  const storage = getMetadataStorage();
  const metadatas = storage.getTargetValidationMetadatas(target, '', false, false, undefined);
  if (metadatas.length === 0) return undefined;
  const grouped = storage.groupByPropertyName(metadatas);
  const properties: PropertyPlan[] = [];
  for (const [name, list] of Object.entries(grouped)) {
    const property: PropertyPlan = { name, conditions: [], checks: [] };
    for (const metadata of list) {
      if (!MODELLED.has(metadata.type) || metadata.validateIf || (metadata.groups?.length ?? 0) > 0) return undefined;
      if (metadata.type === ValidationTypes.CONDITIONAL_VALIDATION) {
        property.conditions.push(metadata.constraints[0] as (object: object, value: unknown) => boolean);
      } else if (metadata.type === ValidationTypes.CUSTOM_VALIDATION) {
        for (const constraint of storage.getTargetValidatorConstraints(metadata.constraintCls)) {
          if (constraint.async) return undefined;
          property.checks.push({ metadata, validate: (value, args) => constraint.instance.validate(value, args) });
        }
      } else if (metadata.type === ValidationTypes.NESTED_VALIDATION) {
        const type = defaultMetadataStorage.findTypeMetadata(target, name);
        if (!type || property.nested) return undefined;
        const nestedClass = type.typeFunction() as ClassConstructor<object>;
        property.nested = () => validationPlan(nestedClass);
      }
    }
    properties.push(property);
  }
  return { target, known: new Set(Object.keys(grouped)), properties };
}

/** Whether a JSON value holds, in any of its objects, a key that names a property of Object.prototype. */
function holdsPrototypeKey(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(holdsPrototypeKey);
  if (!isPlainObject(value)) return false;
  return Object.keys(value).some((key) => key in Object.prototype) || Object.values(value).some(holdsPrototypeKey);
}

/** An object literal (JSON.parse makes only those): its prototype is an `Object.prototype`, of whichever realm. */
function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const prototype: unknown = Object.getPrototypeOf(value);
  return prototype !== null && Object.getPrototypeOf(prototype) === null;
}

/**
 * True when `body` (a freshly parsed JSON value, which this may change) is valid for `target` exactly as
 * class-validator would find it after class-transformer: unknown fields are then removed. False means
 * "not sure": decide the slow way. Fields it removed before answering false are fields the slow way
 * removes as well (they are unknown to every rule), so the slow way sees the same message.
 */
export function validAsIs(target: ClassConstructor<object>, body: unknown): boolean {
  const plan = validationPlan(target);
  return plan !== undefined && isPlainObject(body) && objectValid(plan, body);
}

function objectValid(plan: ClassPlan, object: Record<string, unknown>): boolean {
  for (const key of Object.keys(object)) if (!plan.known.has(key)) delete object[key];
  for (const property of plan.properties) {
    const value = object[property.name];
    if (!property.conditions.every((condition) => condition(object, value))) continue;
    for (const { metadata, validate } of property.checks) {
      const args: ValidationArguments = { targetName: plan.target.name, property: property.name, object, value, constraints: metadata.constraints };
      if (metadata.each && (value instanceof Set || value instanceof Map)) return false;
      const results = metadata.each && Array.isArray(value) ? value.map((item) => validate(item, args)) : [validate(value, args)];
      if (!results.every((result) => result === true)) return false;
    }
    // A map (settings, identities), at any depth, with a key class-transformer treats apart (`valueOf`, `toString`:
    // names of Object.prototype) comes out of the slow way without it: not sure, so the slow way decides.
    if (!property.nested && holdsPrototypeKey(value)) return false;
    if (property.nested && value !== undefined) {
      const nested = property.nested();
      if (!nested) return false;
      const items = Array.isArray(value) ? value : [value];
      for (const item of items) if (!isPlainObject(item) || !objectValid(nested, item)) return false;
    }
  }
  return true;
}
