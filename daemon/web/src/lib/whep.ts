// A WHEP viewer session (RFC 9725 subset the appliance speaks): offer -> answer -> DELETE to end.
// Every peer connection is also pushed on window.vigilPeers (tagged with its camera and quality),
// which the browser tests read the decoding statistics from.
import { request } from "./api";

export type Quality = "main" | "sub";

declare global {
  interface Window { vigilPeers?: VigilPeer[] }
}
export interface VigilPeer extends RTCPeerConnection { vigilCamera?: string; vigilQuality?: Quality }

export interface WhepEvents {
  onStream: (stream: MediaStream) => void;
  onState: (text: string, failed: boolean) => void;
}


/** Why an offer was refused, and whether trying again (later, or with the substream) may help. */
export class WhepRefused extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

/** Resolves when ICE gathering is complete, or after 3 s with the candidates gathered so far. */
export function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    pc.addEventListener("icegatheringstatechange", () => {
      if (pc.iceGatheringState === "complete") resolve();
    });
    setTimeout(resolve, 3000); // send what we have
  });
}

export class WhepSession {
  private pc: VigilPeer | null = null;
  private sessionUrl: string | null = null;
  /** How the appliance sends the video (its Vigil-Live-Video header): passthrough, substream or transcoded. */
  video = "passthrough";

  constructor(readonly camera: string, readonly quality: Quality, private readonly events: WhepEvents,
              private readonly relayOnly = false) {}

  /** Connects; throws WhepRefused when the appliance refuses the offer. */
  async start(): Promise<void> {
    const id = encodeURIComponent(this.camera);
    const ice = await (await request("GET", `/api/cameras/${id}/ice-servers`)).json() as
      { ice_servers: RTCIceServer[] };
    const pc: VigilPeer = new RTCPeerConnection({
      iceServers: ice.ice_servers, iceTransportPolicy: this.relayOnly ? "relay" : "all",
    });
    this.pc = pc;
    pc.vigilCamera = this.camera;
    pc.vigilQuality = this.quality;
    (window.vigilPeers ??= []).push(pc);
    pc.addTransceiver("video", { direction: "recvonly" });
    // The camera's sound, when it has some (the appliance answers this section inactive otherwise).
    pc.addTransceiver("audio", { direction: "recvonly" });
    const stream = new MediaStream();
    pc.ontrack = (event) => {
      stream.addTrack(event.track);
      this.events.onStream(stream);
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      this.events.onState(state, state === "failed");
    };
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc);
    let response: Response;
    try {
      response = await request("POST", `/api/cameras/${id}/whep?quality=${this.quality}`,
        new Blob([pc.localDescription?.sdp ?? ""]), { contentType: "application/sdp" });
    } catch (error) {
      const status = (error as { status?: number }).status ?? 0;
      throw new WhepRefused(status, error instanceof Error ? error.message : String(error));
    }
    this.sessionUrl = response.headers.get("Location");
    this.video = response.headers.get("Vigil-Live-Video") ?? "passthrough";
    await pc.setRemoteDescription({ type: "answer", sdp: await response.text() });
  }

  /** Ends the session on both sides (idempotent). */
  stop(): void {
    this.pc?.close();
    this.pc = null;
    if (this.sessionUrl) {
      const url = this.sessionUrl;
      this.sessionUrl = null;
      request("DELETE", url).catch(() => undefined); // the appliance also ends it when the peer goes
    }
  }
}
