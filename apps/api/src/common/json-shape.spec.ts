import { checkJsonShape, MAX_JSON_DEPTH } from './json-shape';

/** `{"a":{"a":…{"a":leaf}}}`, `levels` objects deep. */
function nested(levels: number, leaf: unknown = 1): unknown {
  let value: unknown = leaf;
  for (let i = 0; i < levels; i++) value = { a: value };
  return value;
}

describe('checkJsonShape', () => {
  it('passes a message and every JSON scalar', () => {
    const body = JSON.parse('{"type":"x","user_profiles":[{"mpid":"1","audiences":[{"audience_id":1,"action":"add"}]}],"n":null}');
    expect(checkJsonShape(body)).toBeUndefined();
    for (const scalar of [null, 1, 'text', true]) expect(checkJsonShape(scalar)).toBeUndefined();
  });

  it('names a prototype key by its whole path, through arrays and objects', () => {
    const body = JSON.parse('{"user_profiles":[{"mpid":"1"},{"audiences":[{"action":"add"},{"settings":{"constructor":{}}}]}]}');
    expect(checkJsonShape(body)).toEqual({
      path: 'user_profiles[1].audiences[1].settings.constructor',
      message: 'user_profiles[1].audiences[1].settings.constructor is not allowed: "constructor" is never a field of a message',
    });
    expect(checkJsonShape(JSON.parse('{"__proto__":1}'))?.path).toBe('__proto__');
    expect(checkJsonShape(JSON.parse('[{"prototype":1}]'))?.path).toBe('[0].prototype');
  });

  it('allows nesting up to the limit, counting objects and arrays only, and names where a deeper body goes past it', () => {
    expect(checkJsonShape(nested(MAX_JSON_DEPTH))).toBeUndefined();
    expect(checkJsonShape(nested(MAX_JSON_DEPTH + 1))).toEqual({
      path: `a${'.a'.repeat(MAX_JSON_DEPTH - 1)}`,
      message: `request body nests deeper than ${MAX_JSON_DEPTH} levels (the limit) at a${'.a'.repeat(MAX_JSON_DEPTH - 1)}`,
    });
    expect(checkJsonShape([[[]]], 2)?.path).toBe('[0][0]');
  });

  it('checks a body nested 100,000 levels deep without running out of stack', () => {
    expect(checkJsonShape(nested(100_000))?.message).toMatch(/deeper than 32 levels/);
    let deepArray: unknown = [];
    for (let i = 0; i < 100_000; i++) deepArray = [deepArray];
    expect(checkJsonShape(deepArray)?.path).toBe('[0]'.repeat(MAX_JSON_DEPTH));
  });
});
