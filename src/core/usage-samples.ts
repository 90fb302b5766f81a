/**
 * The `pvc-chonker.io/usage-samples` annotation: the PVC's own usage history, because the pass
 * keeps no database. A compact list of "<unix seconds>:<used bytes>" pairs, oldest first, at
 * most USAGE_SAMPLES_LIMIT, e.g. "1765094400:5368709120,1765116000:5905580032". Pure.
 */
import { err, ok, type Result } from './result.js';
import { fnv1a } from './hash.js';

/** One reading of the kubelet's usedBytes, kept for the forecast. */
export interface UsageSample {
  time: Date;
  usedBytes: bigint;
}

/** At 6 h apart, 12 samples are the last three days. */
export const USAGE_SAMPLES_LIMIT = 12;

/** --sample-interval's default. */
export const DEFAULT_SAMPLE_INTERVAL_MS = 6 * 3_600_000;

/** 12 pairs of 10 + 1 + 20 digits and a comma fit easily; longer was not written by us. */
const SAMPLES_MAX_CHARS = 512;

/** `<unix seconds>:<used bytes>`: 1-12 and 1-20 ASCII digits (what /^(\d{1,12}):(\d{1,20})$/ takes). */
function pairColon(part: string): number | undefined {
  const colon = part.indexOf(':');
  if (colon < 1 || colon > 12 || part.length - colon - 1 < 1 || part.length - colon - 1 > 20)
    return undefined;
  // Read once per PVC of a pass: a loop over the characters, not a match array per pair.
  for (let i = 0; i < part.length; i++) {
    const code = part.charCodeAt(i);
    if (i !== colon && (code < 0x30 || code > 0x39)) return undefined;
  }
  return colon;
}

/** Parses the annotation's text; any bad entry makes the whole value a problem (a message). */
export function parseUsageSamples(text: string): Result<UsageSample[]> {
  if (text.length > SAMPLES_MAX_CHARS) return err(`is ${text.length} characters long`);
  if (text === '') return ok([]);
  const parts = text.split(',');
  if (parts.length > USAGE_SAMPLES_LIMIT)
    return err(`holds ${parts.length} samples, more than ${USAGE_SAMPLES_LIMIT}`);
  const samples: UsageSample[] = [];
  for (const [index, part] of parts.entries()) {
    const colon = pairColon(part);
    if (colon === undefined)
      return err(`entry ${index} ${JSON.stringify(part)} is not <unix seconds>:<used bytes>`);
    const seconds = Number(part.slice(0, colon));
    const previous = samples.at(-1);
    if (previous !== undefined && seconds * 1000 <= previous.time.getTime())
      return err(`entry ${index} is not later than the one before`);
    samples.push({ time: new Date(seconds * 1000), usedBytes: BigInt(part.slice(colon + 1)) });
  }
  return ok(samples);
}

/** The annotation's text of the newest USAGE_SAMPLES_LIMIT samples (second precision). */
export function formatUsageSamples(samples: readonly UsageSample[]): string {
  return samples
    .slice(-USAGE_SAMPLES_LIMIT)
    .map((s) => `${Math.floor(s.time.getTime() / 1000)}:${s.usedBytes}`)
    .join(',');
}

/** Appends a sample and keeps the newest USAGE_SAMPLES_LIMIT; a sample not later replaces. */
export function appendUsageSample(
  samples: readonly UsageSample[],
  sample: UsageSample,
): UsageSample[] {
  const seconds = (time: Date): number => Math.floor(time.getTime() / 1000);
  const kept = samples.filter((s) => seconds(s.time) < seconds(sample.time));
  return [...kept, sample].slice(-USAGE_SAMPLES_LIMIT);
}

/**
 * How many PVCs without any sample a pass gives their first one on a PATCH of its own: a twelfth
 * of the managed PVCs, at least 50. Their later samples follow each PVC's slot, but a fleet seen
 * for the first time has no slots behind it: without this the first pass would write them all.
 */
export function firstSampleBudget(managed: number): number {
  return Math.max(50, Math.ceil(managed / 12));
}

/**
 * Where in each interval this PVC's samples fall (ms from the epoch's interval boundaries):
 * stable for a PVC (from its uid), spread evenly over the fleet, so each pass writes a slice
 * of the PVCs rather than all of them in the same pass.
 */
export function sampleOffsetMs(uid: string, intervalMs: number): number {
  return fnv1a(uid) % Math.max(1, Math.floor(intervalMs));
}

/** The PVC's own interval that `time` falls in. */
function slotOf(time: Date, offsetMs: number, intervalMs: number): number {
  return Math.floor((time.getTime() - offsetMs) / intervalMs);
}

export interface SampleSchedule {
  /** The PVC's metadata.uid: the stable offset. */
  uid: string;
  now: Date;
  /** --sample-interval. */
  intervalMs: number;
}

/**
 * Whether the pass should write a sample now. The first sample is written at once; later ones
 * once per interval of the PVC's own phase (the first pass after its slot boundary), and never
 * less than half an interval after the last, so an early first sample is not followed at once.
 */
export function sampleDue(
  samples: readonly UsageSample[],
  { uid, now, intervalMs }: SampleSchedule,
): boolean {
  const last = samples.at(-1);
  if (last === undefined) return true;
  if (now.getTime() - last.time.getTime() < intervalMs / 2) return false;
  // Only now the PVC's phase (a hash of its uid): most PVCs of a pass were sampled recently.
  const offsetMs = sampleOffsetMs(uid, intervalMs);
  return slotOf(now, offsetMs, intervalMs) > slotOf(last.time, offsetMs, intervalMs);
}
