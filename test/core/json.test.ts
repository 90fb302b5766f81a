import { describe, expect, it } from 'vitest';
import { parseJson } from '../../src/core/json.js';

describe('parseJson', () => {
  it.each([
    ['an object', '{"a":[1,"x",null]}', { a: [1, 'x', null] }],
    ['a bare number', '42', 42],
    ['a string', '"s"', 's'],
    ['null', 'null', null],
    [
      'a __proto__ key, as an own property',
      '{"__proto__":1}',
      JSON.parse('{"__proto__":1}') as unknown,
    ],
  ])('%s is its value', (_, text, value) => {
    expect(parseJson(text)).toEqual({ ok: true, value });
  });

  it.each([
    ['an HTML page', '<html>', /Unexpected token '<'/],
    ['a cut object', '{"a":', /JSON/],
    ['nothing', '', /JSON/],
    ['two values', '{} {}', /JSON/],
  ])('%s is an error naming where it broke, not an exception', (_, text, message) => {
    const result = parseJson(text);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error).toMatch(message);
  });
});
