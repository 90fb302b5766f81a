/**
 * The range query's answer (/api/v1/query_range, `resultType` matrix) read from its bytes. With
 * the default 6 h window it holds about 60 points per PVC: 3 MB for 2,000 PVCs, 16 MB for
 * 10,000. JSON.parse of that, then a Date and a bigint per point, cost 1.3 s of CPU and 106 MiB
 * at 10,000 PVCs. Here each point goes straight into its series' least-squares fit as it is read:
 * no tree, no point kept, no copy of the text.
 *
 * A small JSON reader of its own: any JSON is read (blanks, key order, escapes, extra fields),
 * everything but the labels and the points is skipped, and what is not JSON is an error value.
 * It reads as JSON.parse would, duplicate keys included (the last one counts).
 */
import { FitBuilder, type UsageFit } from '../core/forecast.js';
import { err, ok, type Result } from '../core/result.js';
import { parseJson } from '../core/json.js';
import { exactCount } from './prometheus-query.js';

const QUOTE = 34;
const BACKSLASH = 92;
const COMMA = 44;
const COLON = 58;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
/** The largest time a Date holds, in ms: a point beyond it is no point. */
const MAX_TIME_MS = 8.64e15;

/** Thrown inside the reader only; readMatrix turns it into an error value. */
class NotJson extends Error {}

class Reader {
  at = 0;
  private readonly bytes: Buffer;

  constructor(bytes: Buffer) {
    this.bytes = bytes;
  }

  private fail(what: string): never {
    throw new NotJson(`${what} at byte ${String(this.at)}`);
  }

  /** The next byte after any blanks (space, tab, line feed, carriage return). */
  peek(): number | undefined {
    const { bytes } = this;
    let code = bytes[this.at];
    while (code === 32 || code === 9 || code === 10 || code === 13) code = bytes[++this.at];
    return code;
  }

  /** Whether a number starts here (after any blanks). */
  atNumber(): boolean {
    const code = this.peek();
    return code === 45 || (code !== undefined && code >= 48 && code <= 57);
  }

  expect(code: number): void {
    if (this.peek() !== code) this.fail(`expected ${String.fromCharCode(code)}`);
    this.at++;
  }

  /** Reads a string, decoded as JSON.parse decodes it. */
  string(): string {
    this.expect(QUOTE);
    const { bytes } = this;
    const start = this.at;
    let escaped = false;
    for (let code = bytes[this.at]; code !== QUOTE; code = bytes[this.at]) {
      if (code === undefined) this.fail('unterminated string');
      if (code === BACKSLASH) {
        escaped = true;
        this.at++;
      } else if (code < 32) this.fail('control character in a string');
      this.at++;
    }
    this.at++;
    if (!escaped) return bytes.toString('utf8', start, this.at - 1);
    const decoded = parseJson(bytes.toString('utf8', start - 1, this.at));
    if (!decoded.ok || typeof decoded.value !== 'string') this.fail('bad escape in a string');
    return decoded.value;
  }

  /** Digits from here on; how many. */
  private digits(): number {
    const start = this.at;
    for (let code = this.bytes[this.at]; code !== undefined && code >= 48 && code <= 57;)
      code = this.bytes[++this.at];
    return this.at - start;
  }

  /**
   * Passes a number as JSON writes it, from here (after any blanks):
   * -?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?. Says whether it is plain: no sign, at most 11 whole
   * digits and 3 decimals.
   */
  private scanNumber(): boolean {
    const { bytes } = this;
    const negative = bytes[this.at] === 45;
    if (negative) this.at++;
    const whole = this.digits();
    if (whole === 0 || (whole > 1 && bytes[this.at - whole] === 48)) this.fail('bad number');
    const decimals = this.fraction();
    const exponent = this.exponent();
    return !negative && !exponent && whole <= 11 && decimals <= 3;
  }

  /** Passes a `.digits` part; how many digits it had (0: none). */
  private fraction(): number {
    if (this.bytes[this.at] !== 46) return 0;
    this.at++;
    const decimals = this.digits();
    if (decimals === 0) this.fail('bad number');
    return decimals;
  }

  /** Passes an `e[+-]digits` part; whether there was one. */
  private exponent(): boolean {
    const { bytes } = this;
    if (bytes[this.at] !== 101 && bytes[this.at] !== 69) return false;
    this.at++;
    if (bytes[this.at] === 43 || bytes[this.at] === 45) this.at++;
    if (this.digits() === 0) this.fail('bad number');
    return true;
  }

  /**
   * A time in seconds, as the whole ms Math.round(Number(text) × 1000) gives. A plain one (how
   * Prometheus writes them: seconds with up to 3 decimals) is exact in ms and read digit by digit.
   */
  timeMs(): number {
    this.peek();
    const start = this.at;
    const plain = this.scanNumber();
    const { bytes } = this;
    if (!plain) return Math.round(Number(bytes.toString('latin1', start, this.at)) * 1000);
    let whole = 0;
    let decimals = 0;
    let scale = 1000;
    let at = start;
    for (let code = bytes[at]; at < this.at && code !== 46; code = bytes[++at])
      whole = whole * 10 + (code ?? 48) - 48;
    for (at++; at < this.at; at++) {
      scale /= 10;
      decimals += ((bytes[at] ?? 48) - 48) * scale;
    }
    return whole * 1000 + decimals;
  }

  /**
   * A string value as exactCount reads it: a whole number of up to 30 digits, exactly; else
   * undefined. Up to 15 digits (below 2^53) it is read digit by digit into a number, without a
   * string or a bigint.
   */
  count(): number | bigint | undefined {
    const { bytes } = this;
    const start = this.at + 1;
    let value = 0;
    let at = start;
    for (let code = bytes[at]; code !== undefined && code >= 48 && code <= 57; code = bytes[++at])
      value = value * 10 + code - 48;
    const length = at - start;
    if (bytes[at] !== QUOTE || length === 0 || length > 15) return exactCount(this.string());
    this.at = at + 1;
    return value;
  }

  /** Calls `onKey` for each key, positioned at its value, which it must read or skip. */
  object(onKey: (key: string) => void): void {
    this.expect(OPEN_BRACE);
    if (this.peek() === CLOSE_BRACE) {
      this.at++;
      return;
    }
    for (;;) {
      const key = this.string();
      this.expect(COLON);
      onKey(key);
      const next = this.peek();
      this.at++;
      if (next === CLOSE_BRACE) return;
      if (next !== COMMA) this.fail('expected , or }');
    }
  }

  /** Opens an array; whether it has an item, which the caller then reads or skips. */
  openArray(): boolean {
    this.expect(OPEN_BRACKET);
    if (this.peek() !== CLOSE_BRACKET) return true;
    this.at++;
    return false;
  }

  /** Passes the `,` after an item, or the `]` that ends the array; whether an item follows. */
  nextItem(): boolean {
    const next = this.peek();
    this.at++;
    if (next === CLOSE_BRACKET) return false;
    if (next !== COMMA) this.fail('expected , or ]');
    return true;
  }

  /** Calls `onItem` at each item of an array, which it must read or skip. */
  array(onItem: (index: number) => void): void {
    if (!this.openArray()) return;
    for (let index = 0; ; index++) {
      onItem(index);
      if (!this.nextItem()) return;
    }
  }

  /** Skips any value. */
  skip(): void {
    const code = this.peek();
    if (code === QUOTE) this.string();
    else if (code === OPEN_BRACE)
      this.object(() => {
        this.skip();
      });
    else if (code === OPEN_BRACKET)
      this.array(() => {
        this.skip();
      });
    else if (code === 116) this.literal('true');
    else if (code === 102) this.literal('false');
    else if (code === 110) this.literal('null');
    else this.scanNumber();
  }

  private literal(word: string): void {
    if (this.bytes.toString('latin1', this.at, this.at + word.length) !== word)
      this.fail('unexpected token');
    this.at += word.length;
  }

  /** A string value, or undefined (after skipping it) when the value is something else. */
  stringOrSkip(): string | undefined {
    if (this.peek() === QUOTE) return this.string();
    this.skip();
    return undefined;
  }

  /** Whether the value opens with `open`: then `read` reads it; else it is skipped. */
  private readIfOpens(open: number, read: () => void): boolean {
    if (this.peek() !== open) {
      this.skip();
      return false;
    }
    read();
    return true;
  }

  /** An object value read by `onKey`; false (after skipping it) when the value is no object. */
  objectOrSkip(onKey: (key: string) => void): boolean {
    return this.readIfOpens(OPEN_BRACE, () => {
      this.object(onKey);
    });
  }

  /** An array value read by `onItem`; false (after skipping it) when the value is no array. */
  arrayOrSkip(onItem: (index: number) => void): boolean {
    return this.readIfOpens(OPEN_BRACKET, () => {
      this.array(onItem);
    });
  }

  end(): void {
    if (this.peek() !== undefined) this.fail('more after the answer');
  }
}

/**
 * One `[time, "value"]` pair into the fit; anything else, or a value not whole, is left out.
 * Walked with openArray / nextItem rather than a callback: this runs once per point.
 */
function readPoint(r: Reader, fit: FitBuilder): void {
  if (r.peek() !== OPEN_BRACKET) {
    r.skip();
    return;
  }
  let timeMs: number | undefined;
  let usedBytes: number | bigint | undefined;
  if (r.openArray())
    for (let index = 0; ; index++) {
      if (index === 0 && r.atNumber()) timeMs = r.timeMs();
      else if (index === 1 && r.peek() === QUOTE) usedBytes = r.count();
      else r.skip();
      if (!r.nextItem()) break;
    }
  if (timeMs === undefined || usedBytes === undefined || !(Math.abs(timeMs) <= MAX_TIME_MS)) return;
  fit.add(timeMs, usedBytes);
}

/** One series: its key "ns/name" and fit, or undefined when it lacks the labels or values. */
function readSeries(r: Reader): { key: string; fit: UsageFit } | undefined {
  const series: { namespace?: string | undefined; name?: string | undefined; fit?: UsageFit } = {};
  const isObject = r.objectOrSkip((key) => {
    if (key === 'metric') {
      series.namespace = undefined;
      series.name = undefined;
      r.objectOrSkip((label) => {
        if (label === 'namespace') series.namespace = r.stringOrSkip();
        else if (label === 'persistentvolumeclaim') series.name = r.stringOrSkip();
        else r.skip();
      });
    } else if (key === 'values') {
      const fit = new FitBuilder();
      const isArray = r.arrayOrSkip(() => {
        readPoint(r, fit);
      });
      if (isArray) series.fit = fit.fit();
      else delete series.fit;
    } else r.skip();
  });
  const { namespace, name, fit } = series;
  if (!isObject || namespace === undefined || name === undefined || fit === undefined)
    return undefined;
  return { key: `${namespace}/${name}`, fit };
}

/** What the answer said, as far as it matters: filled in by its keys, in whatever order. */
interface Answer {
  status?: string | undefined;
  dataIsObject: boolean;
  resultType?: string | undefined;
  /** The last `result` key's fits, when it was an array. */
  fits?: Map<string, UsageFit> | undefined;
  /** Whether a series of that array had no PVC labels. */
  unlabelled: boolean;
}

function readData(r: Reader, answer: Answer): void {
  answer.resultType = undefined;
  answer.fits = undefined;
  answer.dataIsObject = r.objectOrSkip((field) => {
    if (field === 'resultType') answer.resultType = r.stringOrSkip();
    else if (field !== 'result') r.skip();
    else {
      const fits = new Map<string, UsageFit>();
      let unlabelled = false;
      const isArray = r.arrayOrSkip(() => {
        const series = readSeries(r);
        if (series === undefined) unlabelled = true;
        else fits.set(series.key, series.fit);
      });
      answer.fits = isArray ? fits : undefined;
      answer.unlabelled = unlabelled;
    }
  });
}

/** A successful range query's answer: each PVC's fit of its used bytes, keyed "ns/name". */
export function readMatrix(bytes: Buffer): Result<Map<string, UsageFit>> {
  const r = new Reader(bytes);
  const answer: Answer = { dataIsObject: false, unlabelled: false };
  try {
    const isObject = r.objectOrSkip((key) => {
      if (key === 'status') answer.status = r.stringOrSkip();
      else if (key === 'data') readData(r, answer);
      else r.skip();
    });
    r.end();
    if (!isObject || answer.status !== 'success' || !answer.dataIsObject)
      return err('the answer is not a successful Prometheus API response');
  } catch (error) {
    if (error instanceof NotJson) return err(`the answer is not JSON: ${error.message}`);
    // Nesting deep enough to overflow the stack is not an answer either.
    if (error instanceof RangeError) return err('the answer is not JSON: nested too deep');
    throw error;
  }
  const { resultType, fits } = answer;
  if (resultType !== 'matrix' || fits === undefined)
    return err(`expected a matrix, got ${JSON.stringify(resultType)}`);
  if (answer.unlabelled) return err('a series has no namespace and persistentvolumeclaim labels');
  return ok(fits);
}
