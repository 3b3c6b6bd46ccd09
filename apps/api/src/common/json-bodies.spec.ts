import { BadRequestException } from '@nestjs/common';
import { DomainError } from '@audience-bridge/domain';
import { isJsonMediaType, parseJsonBody } from './json-bodies';

describe('isJsonMediaType', () => {
  it.each(['application/json', 'Application/JSON; charset=utf-8', 'application/vnd.api+json', 'application/merge-patch+json ; q=1'])('takes %s', (type) =>
    expect(isJsonMediaType(type)).toBe(true),
  );

  it.each([undefined, '', 'text/plain', 'text/json', 'application/jsonp', 'application/x-www-form-urlencoded', 'application/+json', 'json'])(
    'refuses %s',
    (type) => expect(isJsonMediaType(type)).toBe(false),
  );
});

describe('parseJsonBody', () => {
  it('parses objects and arrays; an empty body is an empty object (as Express answered it)', () => {
    expect(parseJsonBody('{"a":[1,{"b":null}]}')).toEqual({ a: [1, { b: null }] });
    expect(parseJsonBody(' \n[1,2]')).toEqual([1, 2]);
    expect(parseJsonBody('')).toEqual({});
  });

  it.each(['1', '"text"', 'null', 'true'])('refuses the top-level scalar %s with a 400', (text) => {
    expect(() => parseJsonBody(text)).toThrow(BadRequestException);
    expect(() => parseJsonBody(text)).toThrow(/must be a JSON object or array/);
  });

  it('refuses broken JSON with a 400 that quotes the parser', () => {
    expect(() => parseJsonBody('{"type": ')).toThrow(/request body is not valid JSON: /);
  });

  it('refuses a prototype key or a deep nesting as an invalid message naming its path', () => {
    const refusal = (text: string) => {
      try {
        parseJsonBody(text);
      } catch (error) {
        return error;
      }
      throw new Error('accepted');
    };
    const proto = refusal('{"account":{"__proto__":{"admin":true}}}') as DomainError;
    expect(proto).toBeInstanceOf(DomainError);
    expect(proto.details).toEqual([{ path: 'account.__proto__', message: expect.stringMatching(/is not allowed/) }]);
    expect(refusal(`${'['.repeat(40)}${']'.repeat(40)}`)).toBeInstanceOf(DomainError);
  });
});
