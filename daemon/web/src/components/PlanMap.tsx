// A floor plan under Leaflet (CRS.Simple: plan pixels, no tiles, nothing fetched but the plan's
// own image) with its pins: cameras with their field-of-view wedge, doors with their last state,
// buildings on the campus plan. Pins the caller may configure can be dragged; the selected camera
// also gets an aiming handle (drag it to turn the camera and set its range). Every pin is a
// focusable button (Enter selects it); the page lists the same pins for keyboard and screen readers.
import * as L from "leaflet";
import { useEffect, useRef } from "preact/hooks";
import { type Point, aimAt, aimPoint, onPlan, wedge } from "./plan_geometry";

export interface Plan {
  id: number;
  building: string | null;
  floor: string;
  level: number;
  name: string;
  width_px: number;
  height_px: number;
  image: string;
}

export interface Placement {
  id: number;
  plan: number;
  kind: "camera" | "door" | "building";
  item: string;
  x: number;
  y: number;
  rotation_deg: number;
  fov_deg: number | null;
  range_px: number | null;
}

export interface MapPin {
  key: string; // "kind:item"
  placement: Placement;
  label: string; // the accessible name: what it is and its state
  glyph: string;
  tone: string; // a CSS class: pin-camera, pin-door, pin-door-alert, pin-building
  editable: boolean;
}

export interface PlanMapProps {
  plan: Plan;
  pins: MapPin[];
  selected: string | null;
  onSelect: (pin: MapPin) => void;
  onChange: (pin: MapPin, change: Partial<Placement>) => void;
}

function toLatLng(plan: Plan, [x, y]: Point): L.LatLngExpression {
  return [plan.height_px - y, x];
}

function fromLatLng(plan: Plan, latlng: L.LatLng): Point {
  return onPlan(latlng.lng, plan.height_px - latlng.lat, plan.width_px, plan.height_px);
}

function icon(pin: MapPin, selected: boolean): L.DivIcon {
  const span = document.createElement("span");
  span.className = "pin-glyph";
  span.textContent = pin.glyph;
  return L.divIcon({ className: `pin ${pin.tone}${selected ? " selected" : ""}${pin.editable ? " editable" : ""}`,
                     html: span, iconSize: [32, 32], iconAnchor: [16, 16] });
}

function labelled(marker: L.Marker, name: string, data: Record<string, string>): void {
  const element = marker.getElement();
  if (!element) return;
  element.setAttribute("role", "button");
  element.setAttribute("aria-label", name);
  for (const [key, value] of Object.entries(data)) element.dataset[key] = value;
}

export function PlanMap({ plan, pins, selected, onSelect, onChange }: PlanMapProps) {
  const container = useRef<HTMLDivElement>(null);
  const map = useRef<L.Map | null>(null);
  const layer = useRef<L.LayerGroup | null>(null);
  const handlers = useRef({ onSelect, onChange });
  handlers.current = { onSelect, onChange };

  useEffect(() => {
    if (!container.current) return;
    const bounds = L.latLngBounds([0, 0], [plan.height_px, plan.width_px]);
    const m = L.map(container.current, { crs: L.CRS.Simple, attributionControl: false, zoomSnap: 0.25,
                                         minZoom: -6, maxZoom: 4 });
    L.imageOverlay(plan.image, bounds, { alt: `Plan: ${plan.name}` }).addTo(m);
    m.fitBounds(bounds);
    m.setMinZoom(m.getZoom() - 1);
    m.setMaxBounds(bounds.pad(0.25));
    container.current.setAttribute("aria-label", `Map of ${plan.name}`);
    container.current.setAttribute("role", "region");
    map.current = m;
    layer.current = L.layerGroup().addTo(m);
    const resize = new ResizeObserver(() => m.invalidateSize());
    resize.observe(container.current);
    return () => {
      resize.disconnect();
      m.remove();
      map.current = null;
      layer.current = null;
    };
  }, [plan.id, plan.image]);

  useEffect(() => {
    const group = layer.current;
    if (!group) return;
    group.clearLayers();
    for (const pin of pins) {
      const p = pin.placement;
      const isSelected = pin.key === selected;
      let fov: L.Polygon | null = null;
      const aim = { rotation: p.rotation_deg, range: p.range_px ?? 0 };
      const wedgeAt = (x: number, y: number): L.LatLngExpression[] =>
        wedge(x, y, aim.rotation, p.fov_deg ?? 90, aim.range).map((q) => toLatLng(plan, q));
      if (p.kind === "camera" && p.fov_deg !== null && p.range_px !== null) {
        fov = L.polygon(wedgeAt(p.x, p.y), { className: isSelected ? "fov selected" : "fov", interactive: false })
          .addTo(group);
      }
      const marker = L.marker(toLatLng(plan, [p.x, p.y]), { icon: icon(pin, isSelected), draggable: pin.editable,
                                                             keyboard: true, title: pin.label, riseOnHover: true,
                                                             zIndexOffset: isSelected ? 1000 : 0 });
      marker.on("click", () => handlers.current.onSelect(pin));
      marker.on("keypress", (e: L.LeafletKeyboardEvent) => { // a focused pin is a button: Enter or Space
        if (e.originalEvent.key === "Enter" || e.originalEvent.key === " ") {
          e.originalEvent.preventDefault();
          handlers.current.onSelect(pin);
        }
      });
      let handle: L.Marker | null = null;
      marker.on("drag", () => {
        const [x, y] = fromLatLng(plan, marker.getLatLng());
        fov?.setLatLngs(wedgeAt(x, y));
        handle?.setLatLng(toLatLng(plan, aimPoint(x, y, aim.rotation, aim.range)));
      });
      marker.on("dragend", () => {
        const [x, y] = fromLatLng(plan, marker.getLatLng());
        handlers.current.onChange(pin, { x: Math.round(x * 10) / 10, y: Math.round(y * 10) / 10 });
      });
      marker.addTo(group);
      labelled(marker, pin.label, { pin: pin.key });
      if (isSelected && pin.editable && fov !== null) {
        const span = document.createElement("span");
        span.className = "pin-glyph";
        span.textContent = "↻";
        handle = L.marker(toLatLng(plan, aimPoint(p.x, p.y, aim.rotation, aim.range)), {
          icon: L.divIcon({ className: "pin pin-aim", html: span, iconSize: [26, 26], iconAnchor: [13, 13] }),
          draggable: true, keyboard: false, title: "Drag to aim the camera",
        });
        handle.on("drag", () => {
          if (!handle) return;
          const [x, y] = fromLatLng(plan, marker.getLatLng());
          const [tx, ty] = fromLatLng(plan, handle.getLatLng());
          const turned = aimAt(x, y, tx, ty);
          aim.rotation = turned.rotation_deg;
          aim.range = turned.range_px;
          fov?.setLatLngs(wedgeAt(x, y));
        });
        handle.on("dragend", () => handlers.current.onChange(pin, { rotation_deg: aim.rotation, range_px: aim.range }));
        handle.addTo(group);
        const element = handle.getElement();
        if (element) {
          element.dataset["aim"] = pin.key;
          element.setAttribute("aria-hidden", "true"); // not focusable; the side panel has the same control
        }
      }
    }
  }, [plan.id, pins, selected]);

  return <div ref={container} class="plan-map" data-plan={plan.id} />;
}
