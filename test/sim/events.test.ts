import { V1MicroTime, type CoreV1Event } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimCluster, type SimCluster } from '../../sim/index.js';
import { apiFailure, baseSeed, clientsFor, raw, type Clients } from './fixtures.js';

function event(overrides: Record<string, unknown> = {}): CoreV1Event {
  return {
    metadata: { generateName: 'data.' },
    involvedObject: {
      apiVersion: 'v1',
      kind: 'PersistentVolumeClaim',
      name: 'data',
      namespace: 'apps',
    },
    reason: 'Expanded',
    message: 'expanded from 10Gi to 12Gi',
    type: 'Normal',
    eventTime: new V1MicroTime('2026-11-26T05:00:00.123Z'),
    reportingComponent: 'pvc-chonker.io/pvc-chonker',
    reportingInstance: 'pvc-chonker-28911300-abcde',
    action: 'Expand',
    ...overrides,
  };
}

function post(sim: SimCluster, namespace: string, body: unknown): ReturnType<typeof raw> {
  return raw(sim, `/api/v1/namespaces/${namespace}/events`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body),
  });
}

describe('core/v1 Events', () => {
  let sim: SimCluster;
  let c: Clients;

  beforeAll(async () => {
    sim = await startSimCluster({ seed: baseSeed([{ name: 'data' }, { ns: 'other', name: 'x' }]) });
    c = await clientsFor(sim);
  });
  afterAll(async () => {
    await sim.close();
  });

  it('accepts eventTime with six fractional digits (V1MicroTime) and generates a name', async () => {
    const created = await c.core.createNamespacedEvent({
      namespace: 'apps',
      body: event({ firstTimestamp: new Date('2026-11-26T05:00:00.789Z') }),
    });

    expect(created.metadata.name).toMatch(/^data\.[a-z0-9]{5}$/);
    expect(created.firstTimestamp).toEqual(new Date('2026-11-26T05:00:00Z'));
    expect(sim.requests.at(-1)?.body).toMatchObject({ eventTime: '2026-11-26T05:00:00.123000Z' });
    expect(
      (await c.core.readNamespacedEvent({ name: created.metadata.name ?? '', namespace: 'apps' }))
        .reportingComponent,
    ).toBe('pvc-chonker.io/pvc-chonker');
  });

  it('rejects a millisecond eventTime (Date#toISOString) with 400 before validation, as in kubernetes#89156', async () => {
    const plainDate = await apiFailure(() =>
      c.core.createNamespacedEvent({
        namespace: 'apps',
        body: event({ eventTime: new Date('2026-11-26T05:00:00.123Z') }),
      }),
    );
    const seconds = await post(sim, 'apps', event({ eventTime: '2026-11-26T05:00:00Z' }));

    expect(plainDate.code).toBe(400);
    expect(plainDate.body).toMatchObject({
      reason: 'BadRequest',
      message:
        'Event in version "v1" cannot be handled as a Event: parsing time "2026-11-26T05:00:00.123Z" as "2006-01-02T15:04:05.000000Z07:00": cannot parse ".123Z" as ".000000"',
    });
    expect(seconds.status).toBe(400);
    expect((seconds.json as { message: string }).message).toMatch(
      /cannot parse "Z" as "\.000000"$/,
    );
  });

  it('requires reportingComponent, reportingInstance and action once eventTime is set (422 Invalid)', async () => {
    const failure = await apiFailure(() =>
      c.core.createNamespacedEvent({
        namespace: 'apps',
        body: event({
          metadata: { name: 'e1' },
          reportingComponent: '',
          reportingInstance: '',
          action: '',
        }),
      }),
    );

    expect(failure.code).toBe(422);
    expect(failure.body['message']).toBe(
      'Event "e1" is invalid: [reportingComponent: Required value, reportingComponent: Invalid value: "": name part must be non-empty, ' +
        "reportingComponent: Invalid value: \"\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character " +
        "(e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]'), reportingInstance: Required value, action: Required value]",
    );
    expect(
      (failure.body['details'] as { causes: { field: string }[] }).causes.map((x) => x.field),
    ).toEqual([
      'reportingComponent',
      'reportingComponent',
      'reportingComponent',
      'reportingInstance',
      'action',
    ]);
  });

  it('checks involvedObject.namespace against the event namespace for legacy events', async () => {
    const failure = await apiFailure(() =>
      c.core.createNamespacedEvent({
        namespace: 'apps',
        body: event({
          metadata: { name: 'e2' },
          eventTime: undefined,
          involvedObject: { kind: 'PersistentVolumeClaim', name: 'x', namespace: 'other' },
        }),
      }),
    );

    expect(failure.code).toBe(422);
    expect(failure.body['message']).toBe(
      'Event "e2" is invalid: involvedObject.namespace: Invalid value: "other": does not match event.namespace',
    );
  });

  it('rejects a body namespace that differs from the path, a missing name, and a missing namespace', async () => {
    const mismatch = await post(
      sim,
      'apps',
      event({ metadata: { name: 'e3', namespace: 'other' } }),
    );
    const noName = await post(sim, 'apps', event({ metadata: {} }));
    const noNamespace = await post(
      sim,
      'ghost',
      event({
        metadata: { name: 'e4' },
        involvedObject: { kind: 'Pod', name: 'p', namespace: 'ghost' },
      }),
    );

    expect(mismatch.status).toBe(400);
    expect((mismatch.json as { message: string }).message).toBe(
      'the namespace of the provided object does not match the namespace sent on the request',
    );
    expect(noName.status).toBe(422);
    expect((noName.json as { message: string }).message).toBe(
      'Event "" is invalid: metadata.name: Required value: name or generateName is required',
    );
    expect(noNamespace.status).toBe(404);
    expect((noNamespace.json as { message: string }).message).toBe('namespaces "ghost" not found');
  });

  it('lists events cluster-wide, per namespace and by involvedObject field selector', async () => {
    await c.core.createNamespacedEvent({
      namespace: 'other',
      body: event({
        metadata: { name: 'e5' },
        involvedObject: { kind: 'PersistentVolumeClaim', name: 'x', namespace: 'other' },
      }),
    });

    const all = await c.core.listEventForAllNamespaces();
    const other = await c.core.listNamespacedEvent({ namespace: 'other' });
    const byObject = await c.core.listEventForAllNamespaces({
      fieldSelector: 'involvedObject.name=data,involvedObject.kind=PersistentVolumeClaim',
    });

    expect(all.items.length).toBeGreaterThanOrEqual(2);
    expect(other.items.map((e) => e.metadata.name)).toEqual(['e5']);
    expect(byObject.items.every((e) => e.involvedObject.name === 'data')).toBe(true);
    expect(byObject.items.length).toBeGreaterThanOrEqual(1);
  });

  it('serves the same events through events.k8s.io/v1, with its stricter create validation', async () => {
    const created = await c.events.createNamespacedEvent({
      namespace: 'apps',
      body: {
        metadata: { name: 'v1-event' },
        eventTime: new V1MicroTime('2026-11-26T05:00:01.000Z'),
        regarding: { kind: 'PersistentVolumeClaim', name: 'data', namespace: 'apps' },
        reason: 'Expanded',
        note: 'via events.k8s.io',
        type: 'Normal',
        action: 'Expand',
        reportingController: 'pvc-chonker.io/pvc-chonker',
        reportingInstance: 'pod-1',
      },
    });
    const asCore = await c.core.readNamespacedEvent({ name: 'v1-event', namespace: 'apps' });
    const badType = await apiFailure(() =>
      c.events.createNamespacedEvent({
        namespace: 'apps',
        body: {
          metadata: { name: 'bad' },
          eventTime: new V1MicroTime(),
          regarding: { namespace: 'apps' },
          reason: 'R',
          type: 'Info',
          action: 'A',
          reportingController: 'c',
          reportingInstance: 'i',
        },
      }),
    );

    expect(created.note).toBe('via events.k8s.io');
    expect(asCore.message).toBe('via events.k8s.io');
    expect(asCore.involvedObject.name).toBe('data');
    expect(badType.code).toBe(422);
    expect(badType.body['message']).toBe(
      'Event.events.k8s.io "bad" is invalid: type: Invalid value: "": has invalid value: Info',
    );
  });
});

describe('Event updates: how a recorder aggregates a repeating event', () => {
  let sim: SimCluster;

  beforeAll(async () => {
    sim = await startSimCluster({ seed: baseSeed([{ name: 'data' }]) });
  });
  afterAll(async () => {
    await sim.close();
  });

  function patch(
    path: string,
    body: unknown,
    contentType = 'application/merge-patch+json',
  ): ReturnType<typeof raw> {
    return raw(sim, path, {
      method: 'PATCH',
      headers: { 'Content-Type': contentType },
      body: JSON.stringify(body),
    });
  }

  async function created(name: string): Promise<{ resourceVersion: string }> {
    const res = await post(sim, 'apps', {
      ...(event({ metadata: { name } }) as unknown as Record<string, unknown>),
      eventTime: '2026-11-26T05:00:00.123456Z',
      firstTimestamp: '2026-11-26T05:00:00Z',
      lastTimestamp: '2026-11-26T05:00:00Z',
      count: 1,
    });
    expect(res.status, res.text).toBe(201);
    return (res.json as { metadata: { resourceVersion: string } }).metadata;
  }

  it('core/v1: a merge PATCH may change count, lastTimestamp, message and series, guarded by resourceVersion', async () => {
    const { resourceVersion } = await created('repeat-core');
    const path = '/api/v1/namespaces/apps/events/repeat-core';

    const patched = await patch(path, {
      metadata: { resourceVersion },
      message: 'still stuck',
      count: 2,
      lastTimestamp: '2026-11-26T05:05:00.250Z',
      series: { count: 2, lastObservedTime: '2026-11-26T05:05:00.250000+00:00' },
    });
    const stale = await patch(path, { metadata: { resourceVersion }, count: 3 });
    const read = await raw(sim, path);

    expect(patched.status, patched.text).toBe(200);
    expect(read.json).toMatchObject({
      message: 'still stuck',
      count: 2,
      lastTimestamp: '2026-11-26T05:05:00Z',
      series: { count: 2, lastObservedTime: '2026-11-26T05:05:00.250000Z' },
      eventTime: '2026-11-26T05:00:00.123456Z',
    });
    expect(stale.status).toBe(409);
    expect((stale.json as { reason: string }).reason).toBe('Conflict');
  });

  it('rejects a series.lastObservedTime without microseconds with 400, as the decoder does', async () => {
    await created('repeat-millis');

    const res = await patch('/api/v1/namespaces/apps/events/repeat-millis', {
      series: { count: 2, lastObservedTime: '2026-11-26T05:05:00.250Z' },
    });

    expect(res.status).toBe(400);
    expect((res.json as { message: string }).message).toContain(
      'parsing time "2026-11-26T05:05:00.250Z" as "2006-01-02T15:04:05.000000Z07:00"',
    );
  });

  it('events.k8s.io/v1: series must count at least 2 with a lastObservedTime; the note is immutable', async () => {
    await created('repeat-v1');
    const path = '/apis/events.k8s.io/v1/namespaces/apps/events/repeat-v1';

    const one = await patch(path, { series: { count: 1, lastObservedTime: null } });
    const note = await patch(path, { note: 'changed' });
    const good = await patch(path, {
      series: { count: 2, lastObservedTime: '2026-11-26T05:05:00.000001Z' },
    });

    expect(one.status).toBe(422);
    expect((one.json as { message: string }).message).toBe(
      'Event.events.k8s.io "repeat-v1" is invalid: [series.count: Invalid value: "": should be at least 2, series.lastObservedTime: Required value]',
    );
    expect(note.status).toBe(422);
    expect((note.json as { message: string }).message).toBe(
      'Event.events.k8s.io "repeat-v1" is invalid: message: Invalid value: "changed": field is immutable',
    );
    expect(good.status, good.text).toBe(200);
    expect(good.json).toMatchObject({
      series: { count: 2, lastObservedTime: '2026-11-26T05:05:00.000001Z' },
    });
  });

  it('events.k8s.io/v1 creates check the series too', async () => {
    const res = await raw(sim, '/apis/events.k8s.io/v1/namespaces/apps/events', {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        metadata: { name: 'v1-series' },
        eventTime: '2026-11-26T05:00:01.000000Z',
        regarding: { kind: 'PersistentVolumeClaim', name: 'data', namespace: 'apps' },
        reason: 'R',
        note: 'n',
        type: 'Warning',
        action: 'A',
        reportingController: 'pvc-chonker.io/pvc-chonker',
        reportingInstance: 'pod-1',
        series: { count: 1, lastObservedTime: '2026-11-26T05:00:01.000000Z' },
      }),
    });

    expect(res.status).toBe(422);
    expect((res.json as { message: string }).message).toBe(
      'Event.events.k8s.io "v1-series" is invalid: series.count: Invalid value: "": should be at least 2',
    );
  });
});
