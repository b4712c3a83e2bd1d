// The API client: JSON in and out, problem+json errors as ApiError, the CSRF header on writes.

export class ApiError extends Error {
  constructor(readonly status: number, readonly title: string, readonly detail: string) {
    super(detail ? `${title}: ${detail}` : title);
  }
}

let csrfToken = "";

/** Set from the sign-in answer or /api/me (a session's CSRF token; links and tokens have none). */
export function setCsrfToken(token: string): void {
  csrfToken = token;
}

export type Body = Record<string, unknown> | unknown[] | Blob | ArrayBuffer | null;

async function failure(response: Response): Promise<ApiError> {
  const type = response.headers.get("Content-Type") ?? "";
  if (type.includes("json")) {
    try {
      const problem = (await response.json()) as { title?: string; detail?: string };
      return new ApiError(response.status, problem.title ?? response.statusText, problem.detail ?? "");
    } catch {
      // fall through: a broken error body still gets a clear message
    }
  }
  return new ApiError(response.status, response.statusText || "Request failed", "");
}

/** One request to the appliance. `contentType` is for binary bodies (a Blob's own type otherwise). */
export async function request(method: string, path: string, body: Body = null,
                              options: { signal?: AbortSignal; contentType?: string; accept?: string } = {},
): Promise<Response> {
  const headers: Record<string, string> = {};
  if (method !== "GET" && method !== "HEAD" && csrfToken) headers["X-CSRF-Token"] = csrfToken;
  if (options.accept) headers["Accept"] = options.accept;
  let payload: BodyInit | null = null;
  if (body instanceof Blob || body instanceof ArrayBuffer) {
    payload = body;
    const type = options.contentType ?? (body instanceof Blob ? body.type : "");
    if (type) headers["Content-Type"] = type;
  } else if (body !== null) {
    payload = JSON.stringify(body);
    headers["Content-Type"] = "application/json";
  } else if (options.contentType) {
    headers["Content-Type"] = options.contentType;
  }
  const init: RequestInit = { method, headers, body: payload, credentials: "same-origin" };
  if (options.signal) init.signal = options.signal;
  const response = await fetch(path, init);
  if (!response.ok) throw await failure(response);
  return response;
}

/** A JSON request; the parsed answer is the caller's declared type (the OpenAPI document at
 * /api/openapi.json describes each). */
export async function api<T>(method: string, path: string, body: Body = null,
                             options: { signal?: AbortSignal } = {}): Promise<T> {
  const response = await request(method, path, body, options);
  return (await response.json()) as T;
}

/** A query string from the defined values. */
export function query(params: Record<string, string | number | boolean | null | undefined>): string {
  const q = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== null && value !== undefined && value !== "") q.set(key, String(value));
  }
  const text = q.toString();
  return text ? `?${text}` : "";
}

/** What to show a person for any failure. */
export function describeError(error: unknown): string {
  if (error instanceof ApiError) {
    if (error.status === 401) return "Your sign-in has ended. Sign in again.";
    return error.detail ? `${error.title}: ${error.detail}` : error.title;
  }
  if (error instanceof Error) return error.message;
  return String(error);
}
