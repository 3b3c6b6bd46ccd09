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
interface Check {
  metadata: ValidationMetadata;
  /** class-validator's own check, called as class-validator calls it. */
  validate: (value: unknown, args: ValidationArguments) => unknown;
  /** For a built-in constraint: an equivalent test without the call through class-validator (see FAST_CHECKS). */
  fast?: (value: unknown) => boolean;
}

interface PropertyPlan {
  name: string;
  conditions: ((object: object, value: unknown) => boolean)[];
  checks: Check[];
  nested?: () => ClassPlan | undefined;
}

interface ClassPlan {
  target: ClassConstructor<object>;
  /** `target.name`, read once (a getter on every function). */
  targetName: string;
  known: Set<string>;
  properties: PropertyPlan[];
}

const MODELLED = new Set<string>([
  ValidationTypes.CUSTOM_VALIDATION,
  ValidationTypes.NESTED_VALIDATION,
  ValidationTypes.CONDITIONAL_VALIDATION,
  ValidationTypes.WHITELIST,
]);

/**
 * The built-in constraints the Firehose classes use, by their class-validator name, as plain tests of a JSON value
 * (class-validator 0.15: `isString` is `instanceof String || typeof … === 'string'`, `maxLength` validator's
 * `isLength`, which counts a surrogate pair or a variation selector as one character, and so on). Each answers true
 * only where class-validator's answers true; false means "not sure" here, so the slow way decides: `maxLength`
 * passes a string of at most `max` UTF-16 units (never more characters than units) and leaves longer ones to
 * `isLength`. Property-tested against class-validator in validation-plan.spec.ts.
 */
export const FAST_CHECKS: Record<string, (constraints: unknown[]) => ((value: unknown) => boolean) | undefined> = {
  isString: () => (value) => typeof value === 'string',
  isNotEmpty: () => (value) => value !== '' && value !== null && value !== undefined,
  isInt: () => (value) => typeof value === 'number' && Number.isInteger(value),
  isArray: () => (value) => Array.isArray(value),
  isObject: () => (value) => typeof value === 'object' && value !== null && !Array.isArray(value),
  min: ([min]) => (typeof min === 'number' ? (value) => typeof value === 'number' && value >= min : undefined),
  max: ([max]) => (typeof max === 'number' ? (value) => typeof value === 'number' && value <= max : undefined),
  maxLength: ([max]) => (typeof max === 'number' ? (value) => typeof value === 'string' && value.length <= max : undefined),
  isIn: ([values]) => {
    if (!Array.isArray(values) || !values.every((v) => typeof v === 'string')) return undefined;
    const allowed = new Set<unknown>(values);
    return (value) => allowed.has(value);
  },
};

function fastCheck(metadata: ValidationMetadata): ((value: unknown) => boolean) | undefined {
  const make = metadata.name !== undefined && Object.hasOwn(FAST_CHECKS, metadata.name) ? FAST_CHECKS[metadata.name] : undefined;
  return make?.(metadata.constraints ?? []);
}

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
          const fast = fastCheck(metadata);
          // `instance` looks the constraint up in class-validator's container on every read: once, here.
          const instance = constraint.instance;
          property.checks.push({ metadata, validate: (value, args) => instance.validate(value, args), ...(fast ? { fast } : {}) });
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
  return { target, targetName: target.name, known: new Set(Object.keys(grouped)), properties };
}

/** Whether a JSON value holds, in any of its objects, a key that names a property of Object.prototype. */
function holdsPrototypeKey(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) {
    for (const item of value) if (holdsPrototypeKey(item)) return true;
    return false;
  }
  if (!isPlainObject(value)) return false;
  for (const key in value) if (key in Object.prototype || holdsPrototypeKey(value[key])) return true;
  return false;
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

// Plain loops, no closures or result arrays: this runs for every object of every message (a profile of the
// benchmark's messages is 5 objects, 50 profiles a message).
function objectValid(plan: ClassPlan, object: Record<string, unknown>): boolean {
  for (const key in object) if (!plan.known.has(key)) delete object[key];
  for (const property of plan.properties) {
    const value = object[property.name];
    if (!conditionsHold(property, object, value)) continue;
    if (!checksPass(plan, property, object, value)) return false;
    // A map (settings, identities), at any depth, with a key class-transformer treats apart (`valueOf`, `toString`:
    // names of Object.prototype) comes out of the slow way without it: not sure, so the slow way decides.
    if (!property.nested) {
      if (holdsPrototypeKey(value)) return false;
      continue;
    }
    if (value === undefined) continue;
    const nested = property.nested();
    if (!nested) return false;
    if (Array.isArray(value)) {
      for (const item of value) if (!isPlainObject(item) || !objectValid(nested, item)) return false;
    } else if (!isPlainObject(value) || !objectValid(nested, value)) return false;
  }
  return true;
}

function checksPass(plan: ClassPlan, property: PropertyPlan, object: object, value: unknown): boolean {
  // The arguments class-validator passes a check: made once per property, given each check's own constraints.
  let args: ValidationArguments | undefined;
  for (const { metadata, validate, fast } of property.checks) {
    if (fast === undefined) {
      args ??= { targetName: plan.targetName, property: property.name, object, value, constraints: metadata.constraints };
      args.constraints = metadata.constraints;
    }
    if (metadata.each) {
      if (!Array.isArray(value)) return false; // `each` over a Set, a Map or a single value: the slow way decides
      for (const item of value) if (!(fast ? fast(item) : validate(item, args as ValidationArguments) === true)) return false;
    } else if (!(fast ? fast(value) : validate(value, args as ValidationArguments) === true)) return false;
  }
  return true;
}

function conditionsHold(property: PropertyPlan, object: object, value: unknown): boolean {
  for (const condition of property.conditions) if (!condition(object, value)) return false;
  return true;
}
