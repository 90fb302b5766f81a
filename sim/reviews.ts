// TokenReview (authentication.k8s.io/v1), SubjectAccessReview and SelfSubjectAccessReview
// (authorization.k8s.io/v1): create-only resources that are never stored. A kubelet in webhook
// mode (authentication.webhook, authorization.mode Webhook) calls the first two for every
// request; `kubectl auth can-i` and pvc-chonker's `auto` source call the third.
//
// As the real registry answers them (pkg/registry/authentication/tokenreview,
// pkg/registry/authorization/*): 201 with the request's spec echoed and a status; an empty token
// is a 400 ("token is required for TokenReview in authentication"); an access review must name
// exactly one of resourceAttributes and nonResourceAttributes, and a SubjectAccessReview a user
// or a group (422 otherwise); a token nobody knows is `{"user":{},"error":"invalid bearer token"}`.
// Who may create them is the authorizer's business, like any other request.
import {
  nonResourceAttributes,
  userOfToken,
  type AuthenticationOptions,
  type RequestAttributes,
  type UserInfo,
} from './auth.js';
import { isObject, obj, str, type JsonObject } from './json.js';
import type { Authorizer } from './rbac.js';
import {
  apiError,
  badRequest,
  invalid,
  invalidValue,
  required,
  type FieldError,
} from './status.js';

export type ReviewKind = 'TokenReview' | 'SubjectAccessReview' | 'SelfSubjectAccessReview';

const ROUTES: Record<string, { kind: ReviewKind; group: string }> = {
  '/apis/authentication.k8s.io/v1/tokenreviews': {
    kind: 'TokenReview',
    group: 'authentication.k8s.io',
  },
  '/apis/authorization.k8s.io/v1/subjectaccessreviews': {
    kind: 'SubjectAccessReview',
    group: 'authorization.k8s.io',
  },
  '/apis/authorization.k8s.io/v1/selfsubjectaccessreviews': {
    kind: 'SelfSubjectAccessReview',
    group: 'authorization.k8s.io',
  },
};

/** For discovery: the review resources of each group (create only, cluster-scoped). */
export const REVIEW_RESOURCES: Readonly<Record<string, { name: string; kind: ReviewKind }[]>> = {
  'authentication.k8s.io': [{ name: 'tokenreviews', kind: 'TokenReview' }],
  'authorization.k8s.io': [
    { name: 'selfsubjectaccessreviews', kind: 'SelfSubjectAccessReview' },
    { name: 'subjectaccessreviews', kind: 'SubjectAccessReview' },
  ],
};

export interface ReviewContext {
  /** The token table TokenReviews are answered from (the sim's own authenticator). */
  authentication: AuthenticationOptions;
  authorize: Authorizer;
}

export interface ReviewAnswer {
  status: number;
  json: JsonObject;
}

export function reviewRoute(path: string): { kind: ReviewKind; group: string } | undefined {
  return Object.hasOwn(ROUTES, path) ? ROUTES[path] : undefined;
}

function answer(
  kind: ReviewKind,
  group: string,
  spec: JsonObject,
  status: JsonObject,
): ReviewAnswer {
  return {
    status: 201,
    json: { kind, apiVersion: `${group}/v1`, metadata: { creationTimestamp: null }, spec, status },
  };
}

function tokenReview(spec: JsonObject, context: ReviewContext): ReviewAnswer {
  const presented = str(spec['token']) ?? '';
  if (presented.length === 0)
    throw badRequest('token is required for TokenReview in authentication');
  const user = userOfToken(presented, context.authentication);
  if (user === undefined)
    return answer('TokenReview', 'authentication.k8s.io', spec, {
      user: {},
      error: 'invalid bearer token',
    });
  // A static token is audience-agnostic: it is valid for whatever audiences were asked for.
  const asked = Array.isArray(spec['audiences']) ? (spec['audiences'] as unknown[]) : [];
  const audiences = asked.length > 0 ? asked : ['https://kubernetes.default.svc.cluster.local'];
  return answer('TokenReview', 'authentication.k8s.io', spec, {
    authenticated: true,
    user: { username: user.name, groups: user.groups },
    audiences,
  });
}

/** Exactly one of the two attribute kinds (authorization validation's ValidateSubjectAccessReviewSpec). */
function attributeErrors(spec: JsonObject): FieldError[] {
  const resource = spec['resourceAttributes'];
  const nonResource = spec['nonResourceAttributes'];
  if (resource === undefined && nonResource === undefined)
    return [
      required(
        'spec.resourceAttributes',
        'exactly one of nonResourceAttributes or resourceAttributes must be specified',
      ),
    ];
  if (resource !== undefined && nonResource !== undefined)
    return [
      invalidValue(
        'spec.nonResourceAttributes',
        JSON.stringify(nonResource),
        'disallowed if resourceAttributes are specified',
      ),
    ];
  return [];
}

/** What the authorizer is asked, from the review's attributes. */
function attributesOf(spec: JsonObject): RequestAttributes {
  const resource = spec['resourceAttributes'];
  if (isObject(resource))
    return {
      verb: str(resource['verb']) ?? '',
      path: '',
      resourceRequest: true,
      apiGroup: str(resource['group']) ?? '',
      namespace: str(resource['namespace']) ?? '',
      resource: str(resource['resource']) ?? '',
      subresource: str(resource['subresource']) ?? '',
      name: str(resource['name']) ?? '',
    };
  const nonResource = obj(spec['nonResourceAttributes']);
  return nonResourceAttributes(str(nonResource['verb']) ?? '', str(nonResource['path']) ?? '');
}

/** The review's status: RBAC says allowed or has no opinion (then neither allowed nor denied). */
function accessStatus(context: ReviewContext, user: UserInfo, spec: JsonObject): JsonObject {
  const decision = context.authorize(user, attributesOf(spec));
  const status: JsonObject = { allowed: decision.allowed };
  if (decision.reason !== '') status['reason'] = decision.reason;
  return status;
}

function subjectAccessReview(spec: JsonObject, context: ReviewContext): ReviewAnswer {
  const errors = attributeErrors(spec);
  const name = str(spec['user']) ?? '';
  const groups = Array.isArray(spec['groups'])
    ? (spec['groups'] as unknown[]).filter((g): g is string => typeof g === 'string')
    : [];
  if (name === '' && groups.length === 0)
    errors.push(invalidValue('spec.user', name, 'at least one of user or group must be specified'));
  if (errors.length > 0) throw invalid('SubjectAccessReview', '', errors, 'authorization.k8s.io');
  return answer(
    'SubjectAccessReview',
    'authorization.k8s.io',
    spec,
    accessStatus(context, { name, groups }, spec),
  );
}

function selfSubjectAccessReview(
  spec: JsonObject,
  requester: UserInfo,
  context: ReviewContext,
): ReviewAnswer {
  const errors = attributeErrors(spec);
  if (errors.length > 0)
    throw invalid('SelfSubjectAccessReview', '', errors, 'authorization.k8s.io');
  return answer(
    'SelfSubjectAccessReview',
    'authorization.k8s.io',
    spec,
    accessStatus(context, requester, spec),
  );
}

/** A POST of a review, answered; any other method is 405, as for the real create-only resources. */
export function handleReview(
  route: { kind: ReviewKind },
  request: { method: string; body: unknown; requester: UserInfo },
  context: ReviewContext,
): ReviewAnswer {
  const { method, body, requester } = request;
  if (method !== 'POST')
    throw apiError(
      405,
      'MethodNotAllowed',
      'the server does not allow this method on the requested resource',
    );
  if (!isObject(body)) throw badRequest(`the body of a ${route.kind} must be a JSON object`);
  if (body['kind'] !== undefined && body['kind'] !== route.kind)
    throw badRequest(`the body is a ${JSON.stringify(body['kind'])}, not a ${route.kind}`);
  const spec = obj(body['spec']);
  switch (route.kind) {
    case 'TokenReview':
      return tokenReview(spec, context);
    case 'SubjectAccessReview':
      return subjectAccessReview(spec, context);
    case 'SelfSubjectAccessReview':
      return selfSubjectAccessReview(spec, requester, context);
  }
}
