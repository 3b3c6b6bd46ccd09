import { join } from 'node:path';
import * as ts from 'typescript';
import { Stack, startStack, WORKSPACE_ROOT } from '@audience-bridge/harness';

// Issue 26: the console's view of the admin API (apps/console/src/types.ts) must be the API's own contract, not a
// copy that drifts: each console type is compared, field by field, with the schema the running API publishes in its
// OpenAPI document (/docs-json, built from the response DTOs). A field the console reads that the API does not
// answer, a field it calls required that the API may leave out, or a field of the API the console's type forgets
// fails here.
const CONSOLE_TYPES: Record<string, string> = {
  Totals: 'SummaryTotalsDto',
  Bucket: 'SummaryBucketDto',
  Summary: 'SummaryDto',
  ConnectionRow: 'ConnectionRowDto',
  Connections: 'ConnectionsDto',
  Delivery: 'DeliveryDto',
  DeliveryPage: 'DeliveriesDto',
  CallVerdict: 'CallVerdictDto',
  DeliveryDetail: 'DeliveryDetailDto',
  Verdict: 'VerdictDto',
  UserMembership: 'UserMembershipDto',
  UserLookup: 'UserLookupDto',
  ReplayAnswer: 'ReplayResultDto',
  Account: 'AccountViewDto',
  DriftReport: 'DriftReportDto',
  DriftReports: 'DriftReportsDto',
};

type Schema = {
  $ref?: string;
  properties?: Record<string, unknown>;
  required?: string[];
  allOf?: Schema[];
};

/** The console type's fields: name → optional. */
function consoleFields(): Map<string, Map<string, boolean>> {
  const file = join(WORKSPACE_ROOT, 'apps/console/src/types.ts');
  const program = ts.createProgram([file], { strict: true, target: ts.ScriptTarget.ES2022, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file);
  if (!source) throw new Error('apps/console/src/types.ts not found');
  const out = new Map<string, Map<string, boolean>>();
  source.forEachChild((node) => {
    if (!ts.isInterfaceDeclaration(node)) return;
    const type = checker.getTypeAtLocation(node);
    out.set(node.name.text, new Map(type.getProperties().map((p) => [p.name, (p.flags & ts.SymbolFlags.Optional) !== 0])));
  });
  return out;
}

/** The schema's fields, inherited ones included: name → optional. */
function schemaFields(schemas: Record<string, Schema>, name: string): Map<string, boolean> {
  const schema = schemas[name];
  if (!schema) throw new Error(`no schema ${name} in the OpenAPI document`);
  const out = new Map<string, boolean>();
  for (const part of [schema, ...(schema.allOf ?? [])]) {
    const resolved: Map<string, boolean> | undefined = part.$ref ? schemaFields(schemas, part.$ref.split('/').pop() as string) : undefined;
    for (const [field, optional] of resolved ?? []) out.set(field, optional);
    for (const field of Object.keys(part.properties ?? {})) out.set(field, !(part.required ?? []).includes(field));
  }
  return out;
}

describe("the console's API types are the API's OpenAPI contract", () => {
  let stack: Stack;
  let schemas: Record<string, Schema>;
  const fields = consoleFields();
  beforeAll(async () => {
    stack = await startStack('sqlite');
    const res = await fetch(`${stack.apiUrl}/docs-json`);
    schemas = ((await res.json()) as { components: { schemas: Record<string, Schema> } }).components.schemas;
  });
  afterAll(async () => {
    await stack.stop();
  });

  it('every interface of the console is mapped to a schema', () => {
    expect([...fields.keys()].filter((name) => !(name in CONSOLE_TYPES) && name !== 'ReplayFilter')).toEqual([]);
  });

  it.each(Object.entries(CONSOLE_TYPES))('%s is %s', (consoleType, schemaName) => {
    const mine = fields.get(consoleType);
    if (!mine) throw new Error(`no interface ${consoleType} in apps/console/src/types.ts`);
    const theirs = schemaFields(schemas, schemaName);
    const unknown = [...mine.keys()].filter((f) => !theirs.has(f));
    const forgotten = [...theirs.keys()].filter((f) => !mine.has(f));
    const wronglyRequired = [...mine].filter(([f, optional]) => !optional && theirs.get(f) === true).map(([f]) => f);
    expect({ unknown, forgotten, wronglyRequired }).toEqual({ unknown: [], forgotten: [], wronglyRequired: [] });
  });
});
