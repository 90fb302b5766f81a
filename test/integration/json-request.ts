// One JSON request with a bearer token, as the test harnesses of both clusters send them.
import http from 'node:http';
import https from 'node:https';

export interface JsonAnswer {
  status: number;
  body: unknown;
}

/** One JSON request over http or https (verifying with `ca`), with a bearer token. */
export function jsonRequest(
  url: string,
  init: {
    method: string;
    token: string;
    body?: unknown;
    contentType?: string;
    ca?: string;
    /** A keep-alive agent for a harness that sends many; by default a connection per request. */
    agent?: http.Agent;
  },
): Promise<JsonAnswer> {
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  const transport = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: init.method,
        agent: init.agent ?? false,
        ...(init.ca === undefined ? {} : { ca: init.ca }),
        headers: {
          authorization: `Bearer ${init.token}`,
          accept: 'application/json',
          ...(payload === undefined
            ? {}
            : {
                'content-type': init.contentType ?? 'application/json',
                'content-length': Buffer.byteLength(payload),
              }),
        },
        timeout: 30_000,
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => (text += chunk));
        response.on('end', () => {
          let body: unknown = text;
          try {
            body = JSON.parse(text);
          } catch {
            // not JSON: the text itself
          }
          resolve({ status: response.statusCode ?? 0, body });
        });
      },
    );
    request.on('timeout', () => request.destroy(new Error(`${init.method} ${url}: timed out`)));
    request.on('error', reject);
    request.end(payload);
  });
}

export interface BytesAnswer {
  status: number;
  contentType: string;
  body: Buffer;
}

/** One request with its own Accept header, answered as raw bytes (a protobuf body stays binary). */
export function bytesRequest(
  url: string,
  init: { method?: string; accept: string; token: string; ca?: string; body?: unknown },
): Promise<BytesAnswer> {
  const payload = init.body === undefined ? undefined : JSON.stringify(init.body);
  const transport = url.startsWith('https:') ? https : http;
  return new Promise((resolve, reject) => {
    const request = transport.request(
      url,
      {
        method: init.method ?? 'GET',
        agent: false,
        ...(init.ca === undefined ? {} : { ca: init.ca }),
        headers: {
          authorization: `Bearer ${init.token}`,
          accept: init.accept,
          ...(payload === undefined
            ? {}
            : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }),
        },
        timeout: 30_000,
      },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          resolve({
            status: response.statusCode ?? 0,
            contentType: response.headers['content-type'] ?? '',
            body: Buffer.concat(chunks),
          });
        });
      },
    );
    request.on('timeout', () =>
      request.destroy(new Error(`${init.method ?? 'GET'} ${url}: timed out`)),
    );
    request.on('error', reject);
    request.end(payload);
  });
}
