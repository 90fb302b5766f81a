// Fault injection: ordered rules on method + path regex, plus per-node kubelet faults.

export interface FaultRule {
  /** HTTP method to match (any when absent). */
  method?: string;
  /** Regular expression tested against the decoded request path (any when absent). */
  path?: string | RegExp;
  /** The rule expires after matching this many requests (forever when absent). */
  times?: number;
  /** Answer with this status and a metav1.Status body. */
  status?: number;
  retryAfterSeconds?: number;
  reason?: string;
  message?: string;
  /** Never answer (until close()). */
  hang?: boolean;
  /**
   * Serve the request (a write applies), then never answer: a write whose answer is lost, so
   * the client cannot tell from the connection whether it applied. Logged with its served status
   * and `unanswered: true`.
   */
  hangAfterServing?: boolean;
  /** Destroy the socket without a response. */
  reset?: boolean;
  /** Wait this long first; then apply `status` if set, else serve normally. */
  delayMs?: number;
}

export type KubeletFault = { kind: 'fail'; status: number } | { kind: 'hang' };

export interface FaultInjector {
  /** Appends a rule; rules are tried in insertion order and the first match wins. */
  add(rule: FaultRule): void;
  failNode(node: string, status?: number): void;
  hangNode(node: string): void;
  clear(): void;
  /** Remaining rules, for inspection. */
  readonly rules: readonly FaultRule[];
  /** Finds and consumes the first rule matching the request (used by the HTTP layer). */
  match(method: string, path: string): FaultRule | undefined;
  nodeFault(node: string): KubeletFault | undefined;
}

interface LiveRule {
  rule: FaultRule;
  re: RegExp | undefined;
  remaining: number;
}

export function createFaultInjector(): FaultInjector {
  let live: LiveRule[] = [];
  const nodes = new Map<string, KubeletFault>();

  return {
    add(rule) {
      const re =
        rule.path === undefined
          ? undefined
          : typeof rule.path === 'string'
            ? // eslint-disable-next-line security/detect-non-literal-regexp -- a fault rule from the test itself, over the loopback control endpoint
              new RegExp(rule.path)
            : rule.path;
      live.push({ rule, re, remaining: rule.times ?? Number.POSITIVE_INFINITY });
    },
    failNode(node, status = 503) {
      nodes.set(node, { kind: 'fail', status });
    },
    hangNode(node) {
      nodes.set(node, { kind: 'hang' });
    },
    clear() {
      live = [];
      nodes.clear();
    },
    get rules() {
      return live.map((l) => l.rule);
    },
    match(method, path) {
      const hit = live.find(
        (l) =>
          (l.rule.method === undefined || l.rule.method.toUpperCase() === method) &&
          (l.re === undefined || l.re.test(path)),
      );
      if (!hit) return undefined;
      hit.remaining -= 1;
      if (hit.remaining <= 0) live = live.filter((l) => l !== hit);
      return hit.rule;
    },
    nodeFault(node) {
      return nodes.get(node);
    },
  };
}
