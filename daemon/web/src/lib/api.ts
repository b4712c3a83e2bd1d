// The API client: JSON in and out, problem+json errors as ApiError, the CSRF header on writes.

/** One field's problem in a 422 answer (`errors` member of problem+json): the field is the request
 * body's key. */
export interface FieldError { field: string; message: string }

export class ApiError extends Error {
  /** `type`: the problem's type URI or slug ("about:blank" when the API gave none); `errors`: the
   * per-field problems of a validation failure. */
  constructor(readonly status: number, readonly title: string, readonly detail: string,
              readonly type = "about:blank", readonly errors: FieldError[] = []) {
    super(detail ? `${title}: ${detail}` : title);
  }

  /** The type's last word ("https://…/problems/unreachable" or "unreachable" -> "unreachable"). */
  get slug(): string {
    return this.type.split(/[/#:]/).pop() ?? "";
  }
}

function fieldErrors(value: unknown): FieldError[] {
  if (!Array.isArray(value)) return [];
  return value.flatMap((item: unknown) => {
    if (typeof item !== "object" || item === null) return [];
    const { field, message } = item as { field?: unknown; message?: unknown };
    return typeof field === "string" && typeof message === "string" ? [{ field, message }] : [];
  });
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
      const problem = (await response.json()) as { title?: string; detail?: string; type?: string; errors?: unknown };
      return new ApiError(response.status, problem.title ?? response.statusText, problem.detail ?? "",
                          typeof problem.type === "string" ? problem.type : "about:blank", fieldErrors(problem.errors));
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
