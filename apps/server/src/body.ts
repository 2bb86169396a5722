/**
 * The JSON body parser, for REST and tRPC alike: one pass over the raw bytes refuses what JSON.parse would
 * accept silently or expensively (invalid UTF-8, lone surrogates, deep nesting, numbers a double cannot hold).
 */
import { isUtf8 } from 'node:buffer';
import { toErrorBody, ValidationError } from '@tradeos/api';
import type { Issue } from '@tradeos/contract';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';

const MAX_DEPTH = 32;

/** A body the contract calls malformed: 400 in the parser, before authentication and validation. */
export class BadBody extends Error {
  readonly statusCode = 400;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const SAFE_DIGITS = 15; // every decimal of at most 15 significant digits survives a round trip through a double

interface Container {
  array: boolean;
  /** The current key (its raw bytes, quotes included) or array index. */
  key: [number, number] | number | undefined;
  expectKey: boolean;
}

/** Digits, `.`, `e`, `E`, `+` and `-`: the bytes a JSON number is made of. */
function isNumberByte(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || byte === 0x2e || byte === 0x65 || byte === 0x45 || byte === 0x2b || byte === 0x2d;
}

/** A decimal's value as `digits` and the power of ten of its point, so equal values compare equal as text. */
function canonical(decimal: string): string | undefined {
  const match = /^(-?)(\d+)(?:\.(\d+))?(?:[eE]([+-]?\d+))?$/.exec(decimal);
  if (!match) return undefined;
  let digits = `${match[2]}${match[3] ?? ''}`;
  let point = match[2]!.length + Number(match[4] ?? 0);
  const leading = /^0*/.exec(digits)![0].length;
  digits = digits.slice(leading).replace(/0+$/, '');
  point -= leading;
  return digits ? `${match[1]}${digits}e${point}` : '0';
}

/** True when JSON.parse would turn this number into a different value (19.999999999999999 → 20). */
function losesPrecision(text: string): boolean {
  let significant = 0;
  let started = false;
  for (const char of text) {
    if (char === 'e' || char === 'E') break;
    if (char >= '1' && char <= '9') started = true;
    if (started && char >= '0' && char <= '9') significant += 1;
  }
  if (significant <= SAFE_DIGITS) return false;
  return canonical(text) !== canonical(String(Number(text)));
}

function pathOf(stack: Container[], bytes: Buffer): (string | number)[] {
  return stack.flatMap(({ key }): (string | number)[] => {
    if (key === undefined) return [];
    if (typeof key === 'number') return [key];
    return [JSON.parse(bytes.toString('utf8', key[0], key[1])) as string];
  });
}

/**
 * Checks a JSON text without building it: UTF-8, surrogate pairs in `\u` escapes and nesting depth (a 400,
 * stopping at the first problem, so 1 MiB of `[[[…` costs one pass and no parse). Returns the paths of
 * numbers that JSON.parse would round (a 422 once authentication has passed). Syntax is left to JSON.parse.
 */
function scanJson(bytes: Buffer): Issue[] {
  if (!isUtf8(bytes)) throw new BadBody('The request body is not valid UTF-8');
  const stack: Container[] = [];
  const imprecise: Issue[] = [];
  for (let at = 0; at < bytes.length; at += 1) {
    const byte = bytes[at]!;
    const top = stack[stack.length - 1];
    if (byte === QUOTE) {
      const start = at;
      at = skipString(bytes, at + 1);
      if (top && !top.array && top.expectKey) {
        top.key = [start, at + 1];
        top.expectKey = false;
      }
    } else if (byte === 0x7b || byte === 0x5b) {
      if (stack.length >= MAX_DEPTH) throw new BadBody(`The request body is nested deeper than ${MAX_DEPTH} levels`);
      stack.push({ array: byte === 0x5b, key: byte === 0x5b ? 0 : undefined, expectKey: byte === 0x7b });
    } else if (byte === 0x7d || byte === 0x5d) {
      stack.pop();
    } else if (byte === 0x2c && top) {
      if (top.array) top.key = (top.key as number) + 1;
      else top.expectKey = true;
    } else if (byte === 0x2d || (byte >= 0x30 && byte <= 0x39)) {
      let end = at + 1;
      while (end < bytes.length && isNumberByte(bytes[end]!)) end += 1;
      const text = bytes.toString('latin1', at, end);
      if (losesPrecision(text)) imprecise.push({ path: pathOf(stack, bytes), message: `${text} has more digits than can be stored exactly` });
      at = end - 1;
    }
  }
  return imprecise;
}

const LONE_SURROGATE = 'The request body holds a lone surrogate (a \\u escape of half a UTF-16 pair)';

/** The index of the closing quote of a string starting at `at`; lone surrogates in escapes are a 400. */
function skipString(bytes: Buffer, at: number): number {
  let highSurrogate = false;
  for (; at < bytes.length; at += 1) {
    const byte = bytes[at]!;
    const unicodeEscape = byte === BACKSLASH && bytes[at + 1] === 0x75;
    if (highSurrogate && !unicodeEscape) throw new BadBody(LONE_SURROGATE);
    if (byte === QUOTE) break;
    if (byte !== BACKSLASH) continue;
    at += 1;
    if (!unicodeEscape) continue;
    const unit = Number.parseInt(bytes.toString('latin1', at + 1, at + 5), 16);
    at += 4;
    const low = unit >= 0xdc00 && unit <= 0xdfff;
    if (highSurrogate !== low) throw new BadBody(LONE_SURROGATE);
    highSurrogate = unit >= 0xd800 && unit <= 0xdbff;
  }
  return at;
}

const imprecise = new WeakMap<FastifyRequest, Issue[]>();

/**
 * Replaces Fastify's JSON parser (which keeps its 1 MiB limit and empty-body 400). The numbers JSON.parse
 * would round are reported after write protection, as the contract orders 401/403 before 422. A
 * `__proto__` key stays an own property (JSON.parse never sets a prototype) and fails validation as an
 * unknown field.
 */
export function registerJsonBody(app: FastifyInstance): void {
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (request, body: Buffer, done) => {
    if (body.length === 0) return done(new BadBody('The request body is empty; send a JSON object'), undefined);
    try {
      const issues = scanJson(body);
      if (issues.length) imprecise.set(request, issues);
      done(null, JSON.parse(body.toString('utf8')));
    } catch (error) {
      done(error instanceof BadBody ? error : new BadBody('The request body is not valid JSON'), undefined);
    }
  });
}

/** The preHandler that answers 422 for numbers the parser found too precise; add it after write protection. */
export async function rejectImpreciseNumbers(request: FastifyRequest, reply: FastifyReply): Promise<void> {
  const issues = imprecise.get(request);
  if (issues) return reply.code(422).send(toErrorBody(new ValidationError(issues), request.id));
}
