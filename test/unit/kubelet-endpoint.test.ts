import { describe, expect, it } from 'vitest';
import { err, ok } from '../../src/core/result.js';
import { kubeletEndpoint, kubeletUrl } from '../../src/stats/kubelet-endpoint.js';

/** A Node's status as the kubelet reports it (field `Port` capitalised, as in the API). */
function node(addresses: { type: string; address: string }[], port?: unknown): unknown {
  return {
    kind: 'Node',
    status: {
      addresses,
      ...(port === undefined ? {} : { daemonEndpoints: { kubeletEndpoint: { Port: port } } }),
    },
  };
}

describe('kubeletEndpoint', () => {
  it.each([
    [
      'the InternalIP and the reported port',
      node(
        [
          { type: 'Hostname', address: 'ip-10-0-1-5.ec2.internal' },
          { type: 'ExternalIP', address: '54.1.2.3' },
          { type: 'InternalIP', address: '10.0.1.5' },
        ],
        10250,
      ),
      ok({ host: '10.0.1.5', port: 10250 }),
    ],
    [
      'another port',
      node([{ type: 'InternalIP', address: '10.0.1.5' }], 10255),
      ok({ host: '10.0.1.5', port: 10255 }),
    ],
    [
      'the default port when none (or nonsense) is reported',
      node([{ type: 'InternalIP', address: '10.0.1.5' }], 0),
      ok({ host: '10.0.1.5', port: 10250 }),
    ],
    [
      'the first InternalIP of two (dual stack)',
      node(
        [
          { type: 'InternalIP', address: 'fd00::5' },
          { type: 'InternalIP', address: '10.0.1.5' },
        ],
        10250,
      ),
      ok({ host: 'fd00::5', port: 10250 }),
    ],
    [
      'no InternalIP',
      node([{ type: 'Hostname', address: 'n1' }]),
      err('it has no InternalIP address'),
    ],
    ['no status at all', { kind: 'Node' }, err('it has no InternalIP address')],
  ])('%s', (_name, object, endpoint) => {
    expect(kubeletEndpoint(object)).toEqual(endpoint);
  });

  it('puts an IPv6 address in brackets in the URL', () => {
    expect(kubeletUrl({ host: 'fd00::5', port: 10250 }, '/stats/summary').href).toBe(
      'https://[fd00::5]:10250/stats/summary',
    );
    expect(kubeletUrl({ host: '10.0.1.5', port: 10250 }, '/stats/summary').href).toBe(
      'https://10.0.1.5:10250/stats/summary',
    );
  });
});
