/**
 * A local EC2 Query API that answers DescribeVolumes and DescribeVolumesModifications with the
 * XML EC2 sends (namespace 2016-11-15, `volumeSet`/`volumeModificationSet` items, `<Response>
 * <Errors>` errors), so the real @aws-sdk/client-ec2 parses it. Point the SDK at `url` with
 * AWS_ENDPOINT_URL_EC2.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { listenOnLoopback } from './loopback.js';

export interface Ec2FakeVolume {
  volumeId: string;
  sizeGib: number;
  volumeType: string;
  availabilityZone: string;
  /** Default in-use. */
  state?: string;
  iops?: number;
}

export interface Ec2FakeModification {
  volumeId: string;
  state: 'modifying' | 'optimizing' | 'completed' | 'failed';
  startTime: Date;
  endTime?: Date;
  progress?: number;
  originalSizeGib: number;
  targetSizeGib: number;
  volumeType?: string;
}

export interface Ec2FakeError {
  code: string;
  message?: string;
  /** EC2 answers throttling with 503, permission errors with 403, its own faults with 500. */
  status: number;
}

export interface Ec2FakeRequest {
  action: string;
  params: Readonly<Record<string, string>>;
  /** Volume IDs asked for, from `Filter.N.Name=volume-id` values or `VolumeId.N`. */
  volumeIds: string[];
}

export interface Ec2Fake {
  url: string;
  requests: Ec2FakeRequest[];
  setVolumes: (volumes: readonly Ec2FakeVolume[]) => void;
  setModifications: (modifications: readonly Ec2FakeModification[]) => void;
  /** The next `times` calls of `action` ('*' for any) fail with `error`; Infinity for always. */
  failNext: (action: string, error: Ec2FakeError, times?: number) => void;
  /** Requests of one action, e.g. count('DescribeVolumes'). */
  count: (action: string) => number;
  close: () => Promise<void>;
}

const NS = 'http://ec2.amazonaws.com/doc/2016-11-15/';
/** EC2's limit on filter values per call. */
const FILTER_VALUES_MAX = 200;

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function volumeIdsOf(params: Readonly<Record<string, string>>): {
  ids: string[];
  filterValues: number;
} {
  const ids: string[] = [];
  let filterValues = 0;
  for (const [key, value] of Object.entries(params)) {
    if (/^VolumeId\.\d+$/.test(key)) ids.push(value);
    const filterValue = /^Filter\.(\d+)\.Value\.\d+$/.exec(key);
    if (filterValue !== null) {
      filterValues++;
      if (params[`Filter.${filterValue[1]}.Name`] === 'volume-id') ids.push(value);
    }
  }
  return { ids, filterValues };
}

function volumeXml(v: Ec2FakeVolume): string {
  const state = v.state ?? 'in-use';
  const attachment =
    state === 'in-use'
      ? `<attachmentSet><item><volumeId>${v.volumeId}</volumeId><instanceId>i-0123456789abcdef0</instanceId><device>/dev/xvdba</device><status>attached</status><attachTime>2024-05-01T10:00:00.000Z</attachTime><deleteOnTermination>false</deleteOnTermination></item></attachmentSet>`
      : '<attachmentSet/>';
  return `<item><volumeId>${v.volumeId}</volumeId><size>${v.sizeGib}</size><snapshotId/><availabilityZone>${v.availabilityZone}</availabilityZone><status>${state}</status><createTime>2024-05-01T09:58:00.000Z</createTime>${attachment}<tagSet><item><key>kubernetes.io/created-for/pvc/name</key><value>data</value></item></tagSet><volumeType>${v.volumeType}</volumeType><iops>${v.iops ?? 3000}</iops><encrypted>true</encrypted><multiAttachEnabled>false</multiAttachEnabled></item>`;
}

function modificationXml(m: Ec2FakeModification): string {
  const type = m.volumeType ?? 'gp3';
  const end = m.endTime === undefined ? '' : `<endTime>${m.endTime.toISOString()}</endTime>`;
  return `<item><volumeId>${m.volumeId}</volumeId><modificationState>${m.state}</modificationState><targetSize>${m.targetSizeGib}</targetSize><targetIops>3000</targetIops><targetVolumeType>${type}</targetVolumeType><targetMultiAttachEnabled>false</targetMultiAttachEnabled><originalSize>${m.originalSizeGib}</originalSize><originalIops>3000</originalIops><originalVolumeType>${type}</originalVolumeType><originalMultiAttachEnabled>false</originalMultiAttachEnabled><progress>${m.progress ?? (m.state === 'completed' ? 100 : 0)}</progress><startTime>${m.startTime.toISOString()}</startTime>${end}</item>`;
}

function errorXml(error: Ec2FakeError): string {
  const message = escapeXml(error.message ?? `${error.code} (fake)`);
  return `<?xml version="1.0" encoding="UTF-8"?>\n<Response><Errors><Error><Code>${error.code}</Code><Message>${message}</Message></Error></Errors><RequestID>${randomUUID()}</RequestID></Response>`;
}

function okXml(action: string, body: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${action}Response xmlns="${NS}"><requestId>${randomUUID()}</requestId>${body}</${action}Response>`;
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

export async function startEc2Fake(
  init: { volumes?: readonly Ec2FakeVolume[]; modifications?: readonly Ec2FakeModification[] } = {},
): Promise<Ec2Fake> {
  let volumes = [...(init.volumes ?? [])];
  let modifications = [...(init.modifications ?? [])];
  const failures: { action: string; error: Ec2FakeError; times: number }[] = [];
  const requests: Ec2FakeRequest[] = [];

  function answer(
    action: string,
    ids: string[],
    params: Record<string, string>,
  ): { status: number; xml: string } {
    const byFilter = Object.keys(params).some((k) => k.startsWith('Filter.'));
    if (action === 'DescribeVolumes') {
      if (!byFilter) {
        const missing = ids.find((id) => !volumes.some((v) => v.volumeId === id));
        if (missing !== undefined) {
          return {
            status: 400,
            xml: errorXml({
              code: 'InvalidVolume.NotFound',
              message: `The volume '${missing}' does not exist.`,
              status: 400,
            }),
          };
        }
      }
      const found = volumes.filter((v) => ids.length === 0 || ids.includes(v.volumeId));
      return {
        status: 200,
        xml: okXml(action, `<volumeSet>${found.map(volumeXml).join('')}</volumeSet>`),
      };
    }
    if (action === 'DescribeVolumesModifications') {
      // Asked by VolumeId, a never-modified volume fails the call (only a filter skips it).
      const missing = byFilter
        ? undefined
        : ids.find((id) => !modifications.some((m) => m.volumeId === id));
      if (missing !== undefined) {
        return {
          status: 400,
          xml: errorXml({
            code: 'InvalidVolumeModification.NotFound',
            message: `Modification for volume '${missing}' does not exist.`,
            status: 400,
          }),
        };
      }
      const found = modifications.filter((m) => ids.length === 0 || ids.includes(m.volumeId));
      return {
        status: 200,
        xml: okXml(
          action,
          `<volumeModificationSet>${found.map(modificationXml).join('')}</volumeModificationSet>`,
        ),
      };
    }
    return {
      status: 400,
      xml: errorXml({
        code: 'InvalidAction',
        message: `The action ${action} is not valid for this web service.`,
        status: 400,
      }),
    };
  }

  function takeFailure(action: string): Ec2FakeError | undefined {
    const failure = failures.find((f) => (f.action === action || f.action === '*') && f.times > 0);
    if (failure === undefined) return undefined;
    failure.times--;
    return failure.error;
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const params = Object.fromEntries(new URLSearchParams(await readBody(req)));
    const action = params.Action ?? '';
    const { ids, filterValues } = volumeIdsOf(params);
    requests.push({ action, params, volumeIds: ids });
    const failure = takeFailure(action);
    const result =
      failure !== undefined
        ? { status: failure.status, xml: errorXml(failure) }
        : filterValues > FILTER_VALUES_MAX
          ? {
              status: 400,
              xml: errorXml({
                code: 'FilterLimitExceeded',
                message: `The maximum number of filter values specified on a single call is ${FILTER_VALUES_MAX}`,
                status: 400,
              }),
            }
          : answer(action, ids, params);
    res.writeHead(result.status, {
      'content-type': 'text/xml;charset=UTF-8',
      'x-amzn-requestid': randomUUID(),
    });
    res.end(result.xml);
  }

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      res.writeHead(500);
      res.end(String(error));
    });
  });
  const { url, close } = await listenOnLoopback(server);
  return {
    url,
    requests,
    setVolumes: (v) => {
      volumes = [...v];
    },
    setModifications: (m) => {
      modifications = [...m];
    },
    failNext: (action, error, times = 1) => {
      failures.push({ action, error, times });
    },
    count: (action) => requests.filter((r) => r.action === action).length,
    close,
  };
}
