// Pure geometry of the map's pins. Plans are images: x to the right, y down, in image pixels; a
// camera's rotation is clockwise from the plan's up (as stored by /api/placements). Leaflet's
// CRS.Simple has y up, so a point (x, y) is shown at [height - y, x].

export type Point = [number, number];

/** The field-of-view wedge of a camera at (x, y): its apex and an arc of `steps` segments. */
export function wedge(x: number, y: number, rotationDeg: number, fovDeg: number, rangePx: number,
                      steps = 16): Point[] {
  const points: Point[] = fovDeg >= 360 ? [] : [[x, y]];
  const start = rotationDeg - fovDeg / 2;
  for (let i = 0; i <= steps; i++) {
    const a = ((start + (fovDeg * i) / steps) * Math.PI) / 180;
    points.push([x + Math.sin(a) * rangePx, y - Math.cos(a) * rangePx]);
  }
  return points;
}

/** Where the aiming handle sits: at the wedge's range, in the camera's direction. */
export function aimPoint(x: number, y: number, rotationDeg: number, rangePx: number): Point {
  const a = (rotationDeg * Math.PI) / 180;
  return [x + Math.sin(a) * rangePx, y - Math.cos(a) * rangePx];
}

/** The rotation and range that point a camera at (x, y) towards (tx, ty). */
export function aimAt(x: number, y: number, tx: number, ty: number): { rotation_deg: number; range_px: number } {
  const deg = (Math.atan2(tx - x, y - ty) * 180) / Math.PI;
  return { rotation_deg: Math.round(((deg % 360) + 360) % 360), range_px: Math.max(1, Math.round(Math.hypot(tx - x, ty - y))) };
}

/** Clamp a point onto the plan. */
export function onPlan(x: number, y: number, width: number, height: number): Point {
  return [Math.min(width, Math.max(0, x)), Math.min(height, Math.max(0, y))];
}
