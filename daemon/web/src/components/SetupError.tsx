// A camera-setup failure shown as a sentence a person understands (the probe's error types:
// wrong password from ONVIF or from RTSP, unreachable, not an ONVIF camera…), with the
// appliance's own detail under it.
import { ApiError, describeError } from "../lib/api";
import { problemSentence } from "../lib/camera_setup";

export function SetupError({ error }: { error: unknown }) {
  const sentence = problemSentence(error);
  if (sentence === null) return <p class="error" role="alert">{describeError(error)}</p>;
  const detail = error instanceof ApiError ? error.detail : "";
  return (
    <div class="setup-error" role="alert" data-problem={error instanceof ApiError ? error.slug : undefined}>
      <p class="error">{sentence}</p>
      {detail && <p class="muted">The appliance says: {detail}</p>}
    </div>
  );
}
