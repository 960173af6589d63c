"""The objects a forward camera sees, drawn procedurally in the object's plane.

Five kinds (`KINDS`), each varied per object (size, colours, pose, gait or pedal phase, view):

- ``pedestrian``: walking, seen from the side (crossing) or from the front/back;
- ``walking-bicycle``: a pedestrian walking a bicycle, side view, the person behind or in front
  of the bicycle (Tempe, 2018);
- ``cyclist``: riding, seen from the side (crossing) or from behind;
- ``vehicle``: a car, van or SUV seen from behind, from the side or from the front;
- ``other``: clutter: a plastic bag, a road sign, debris, a traffic cone, a wheelie bin, a bush.

Shapes are signed-distance primitives (capsules, ellipses, rounded boxes, rings) in metres in
the object's plane: x across the image (an object faces +x, mirrored per object by `facing`),
z up from the ground under it. A `Canvas` evaluates them for a batch of crops at once and
composites them front over back (Porter and Duff's "over"), keeping reflectance and coverage
apart so that the renderer can light the object and the background differently. Coverage is
antialiased: a pixel's share of a shape is 0.5 - (signed distance / pixel size), clipped to
[0, 1].

Sizes: people 1.50-1.95 m tall; an adult bicycle with 0.34 m wheels (700c) and a 1.05 m
wheelbase, scaled by 0.92-1.06; cars 1.40-1.95 m high, 1.70-2.00 m wide, 3.8-5.2 m long.
Reflectances are linear RGB in [0, 1]: dark clothing 0.03-0.08, jeans about 0.1, white paint
0.6-0.8, tyres 0.04, asphalt 0.06-0.14 (the renderer's background).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

KINDS = ("pedestrian", "walking-bicycle", "cyclist", "vehicle", "other")
VARIANTS = {
    "pedestrian": ("side", "front"),
    "walking-bicycle": ("person-behind", "person-in-front"),
    "cyclist": ("side", "rear"),
    "vehicle": ("rear", "side", "front"),
    "other": ("bag", "sign", "debris", "cone", "bin", "bush"),
}
LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)  # Rec. 709 luminance weights

# Hues, each scaled to luminance 1 so that a colour's grey value is its brightness.
_HUES = np.array(
    [
        [1.0, 1.0, 1.0],  # neutral
        [0.85, 0.12, 0.10],  # red
        [0.15, 0.30, 0.85],  # blue
        [0.90, 0.80, 0.20],  # yellow
        [0.20, 0.60, 0.25],  # green
        [0.55, 0.40, 0.25],  # brown
        [0.95, 0.45, 0.10],  # orange
    ],
    dtype=np.float32,
)
_HUES /= (_HUES @ LUMA)[:, None]
TYRE, GLASS, POLE = 0.04, 0.05, 0.25
WHEEL = 0.12  # a tyre and its rim, mixed: thinner than a pixel at most ranges
BIKE_R, BIKE_WB = 0.34, 1.05  # wheel radius and wheelbase of the reference bicycle (m)


@dataclass(frozen=True)
class Objects:
    """n objects' fixed attributes (arrays of length n, or 1 to broadcast).

    kind/variant: indices into KINDS and VARIANTS[kind]. size_m: a person's height, a
    vehicle's or a clutter object's height. length_m: a vehicle's length, a clutter object's
    width, unused otherwise. phase: gait or pedal phase at time 0 (rad); cadence_hz: cycles per
    second. colour (n, 4, 3): linear RGB reflectances of four parts (upper body or vehicle body;
    legs or trim; head; bicycle frame or detail). reflector: retroreflectors fitted. shape
    (n, 4): uniforms in [0, 1) that vary details (lean, arm pose, sub-shapes).
    """

    kind: np.ndarray
    variant: np.ndarray
    facing: np.ndarray
    size_m: np.ndarray
    length_m: np.ndarray
    phase: np.ndarray
    cadence_hz: np.ndarray
    colour: np.ndarray
    reflector: np.ndarray
    shape: np.ndarray

    def __len__(self) -> int:
        return len(self.kind)

    def take(self, idx) -> Objects:
        """The objects at `idx` (an index array or a slice)."""
        return Objects(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    def repeat(self, n: int) -> Objects:
        """Each object repeated n times in a row (object-major): for sequences of frames."""
        return Objects(
            **{
                f.name: np.repeat(getattr(self, f.name), n, axis=0)
                for f in dataclasses.fields(self)
            }
        )

    @staticmethod
    def concat(parts: list[Objects]) -> Objects:
        return Objects(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in dataclasses.fields(Objects)
            }
        )


# ---------------------------------------------------------------------------------------------
# Drawing objects' attributes


def colours(rng: np.random.Generator, n: int, lo: float, hi: float, hues=None) -> np.ndarray:
    """n RGB reflectances: brightness log-uniform in [lo, hi] times a hue (index list or all)."""
    hues = np.arange(len(_HUES)) if hues is None else np.asarray(hues)
    bright = np.exp(rng.uniform(np.log(lo), np.log(hi), n)).astype(np.float32)
    return np.minimum(_HUES[rng.choice(hues, n)] * bright[:, None], 1.0)


def _clothing(rng: np.random.Generator, n: int) -> np.ndarray:
    """Clothes: 40 % dark (0.03-0.08), 40 % mid (0.08-0.25), 20 % bright (0.25-0.7)."""
    band = rng.choice(3, n, p=[0.4, 0.4, 0.2])
    lo = np.array([0.03, 0.08, 0.25])[band]
    hi = np.array([0.08, 0.25, 0.7])[band]
    bright = np.exp(rng.uniform(np.log(lo), np.log(hi))).astype(np.float32)
    return np.minimum(_HUES[rng.choice(len(_HUES), n)] * bright[:, None], 1.0)


def draw_objects(
    kinds: np.ndarray, rng: np.random.Generator, *, variants: np.ndarray | None = None
) -> Objects:
    """Random attributes for objects of the given kinds (indices into KINDS).

    `variants` fixes each object's view or sub-type; -1 (or None) draws it. Draws happen in a
    fixed order for the whole batch, so the same generator state gives the same objects.
    """
    kinds = np.asarray(kinds, dtype=np.int8)
    n = len(kinds)
    n_var = np.array([len(VARIANTS[k]) for k in KINDS])[kinds]
    drawn = np.floor(rng.random(n) * n_var).astype(np.int8)
    if variants is not None:
        variants = np.asarray(variants, dtype=np.int8)
        drawn = np.where(variants >= 0, variants, drawn)
    person = np.isin(kinds, [0, 1, 2])
    vehicle = kinds == 3
    other = kinds == 4
    size = np.where(person, rng.uniform(1.50, 1.95, n), 0.0)
    size = np.where(vehicle, rng.uniform(1.40, 1.95, n), size)
    length = np.where(vehicle, rng.uniform(3.8, 5.2, n), 0.0)
    o_size, o_len = _clutter_size(drawn, rng)
    size = np.where(other, o_size, size)
    length = np.where(other, o_len, length)
    colour = np.stack(
        [
            _clothing(rng, n),
            _clothing(rng, n),
            colours(rng, n, 0.05, 0.4, hues=[0, 5]),  # skin and hair
            colours(rng, n, 0.05, 0.6),  # frames, bodies of clutter
        ],
        axis=1,
    )
    body = colours(rng, n, 0.04, 0.7)  # vehicle paint and clutter: any hue
    colour[:, 0] = np.where((vehicle | other)[:, None], body, colour[:, 0])
    gait = np.where(kinds == 2, rng.uniform(1.0, 1.5, n), rng.uniform(0.8, 1.0, n))
    return Objects(
        kind=kinds,
        variant=drawn,
        facing=np.where(rng.random(n) < 0.5, -1.0, 1.0).astype(np.float32),
        size_m=size.astype(np.float32),
        length_m=length.astype(np.float32),
        phase=rng.uniform(0, 2 * np.pi, n).astype(np.float32),
        cadence_hz=gait.astype(np.float32),
        colour=colour.astype(np.float32),
        reflector=rng.random(n) < 0.6,
        shape=rng.random((n, 4)).astype(np.float32),
    )


def _clutter_size(variant: np.ndarray, rng: np.random.Generator) -> tuple[np.ndarray, ...]:
    """(height, width) of clutter by sub-type: bag, sign, debris, cone, bin, bush (m)."""
    u, v = rng.random(len(variant)), rng.random(len(variant))
    lo_h = np.array([0.25, 2.0, 0.10, 0.45, 0.95, 0.5])[np.clip(variant, 0, 5)]
    hi_h = np.array([0.60, 2.8, 0.45, 0.90, 1.15, 1.5])[np.clip(variant, 0, 5)]
    h = lo_h + (hi_h - lo_h) * u
    ratio = np.array([1.2, 0.3, 3.0, 0.55, 0.6, 1.6])[np.clip(variant, 0, 5)]
    return h, h * ratio * (0.75 + 0.5 * v)


# ---------------------------------------------------------------------------------------------
# The canvas: signed-distance primitives composited over a batch of crops


def _b(v):
    """A per-object parameter as (n, 1, 1) for broadcasting against (n, H, W); floats pass."""
    if np.isscalar(v):
        return np.float32(v)
    return np.asarray(v, dtype=np.float32).reshape(-1, 1, 1)


class Canvas:
    """Layers composited over n crops. x (n, 1, W) and z (n, H, 1) are each pixel's position in
    the object's plane (m), pixel_m (n,) the crop's pixel size; `lamps` (n,) turns lamps on."""

    def __init__(self, x, z, pixel_m, channels: int, lamps) -> None:
        n, h, w = len(x), z.shape[1], x.shape[2]
        self.x, self.z, self.channels = x, z, channels
        self.inv_pixel = _b(1.0 / np.asarray(pixel_m, dtype=np.float32))
        self.lamps = np.asarray(lamps, dtype=np.float32)
        self.rho = np.zeros((n, channels, h, w), dtype=np.float32)
        self.alpha = np.zeros((n, h, w), dtype=np.float32)
        # Allocated on first use: lamps' light in units of white; retroreflectors' reflectance.
        self.glow: np.ndarray | None = None
        self.retro: np.ndarray | None = None

    def colour(self, rgb) -> np.ndarray:
        """(n, C) from RGB (n, 3) or (3,): grey is the luminance."""
        rgb = np.broadcast_to(np.asarray(rgb, dtype=np.float32), (len(self.x), 3))
        if self.channels == 3:
            return rgb
        # Written out: a matrix product's rounding can depend on the batch's size.
        return (rgb[:, 0] * LUMA[0] + rgb[:, 1] * LUMA[1] + rgb[:, 2] * LUMA[2])[:, None]

    def paint(self, dist: np.ndarray, colour, *, glow=None, retro=None) -> None:
        """Composite a shape given its signed distance (n, H, W) in metres (consumed)."""
        a = dist
        a *= -self.inv_pixel
        a += 0.5
        np.clip(a, 0.0, 1.0, out=a)
        col = self.colour(colour)[:, :, None, None]
        for c in range(self.channels):
            t = col[:, c] - self.rho[:, c]
            t *= a
            self.rho[:, c] += t
        t = 1.0 - self.alpha
        t *= a
        self.alpha += t
        if glow is not None:  # lamps: emission in units of the exposure's white, when lit
            self.glow = self._add(self.glow, a, self.colour(glow) * self.lamps[:, None])
        if retro is not None:  # lit by the observing car's lamps only: see render._light
            gain = np.broadcast_to(np.asarray(retro, dtype=np.float32), (len(a),))
            self.retro = self._add(self.retro, a, col[:, :, 0, 0] * gain[:, None])

    def _add(self, buf, a, amp) -> np.ndarray:
        """buf + coverage a (n, H, W) times amplitude amp (n, C), allocating buf if None."""
        if buf is None:
            buf = np.zeros_like(self.rho)
        for c in range(self.channels):
            buf[:, c] += a * amp[:, c, None, None]
        return buf

    # Signed distances (metres, negative inside). Arguments are floats or (n,) arrays.
    def capsule(self, ax, az, bx, bz, r, colour, **light) -> None:
        """A segment from (ax, az) to (bx, bz) thickened by r."""
        ax, az, bx, bz, r = (_b(v) for v in (ax, az, bx, bz, r))
        px, pz = self.x - ax, self.z - az
        dx, dz = bx - ax, bz - az
        inv = 1.0 / (dx * dx + dz * dz + np.float32(1e-9))
        h = px * (dx * inv) + pz * (dz * inv)
        np.clip(h, 0.0, 1.0, out=h)
        ex = px - h * dx
        ez = h
        ez *= -dz
        ez += pz
        ex *= ex
        ez *= ez
        ex += ez
        np.sqrt(ex, out=ex)
        ex -= r
        self.paint(ex, colour, **light)

    def ellipse(self, cx, cz, rx, rz, colour, **light) -> None:
        """An ellipse centred at (cx, cz) with semi-axes rx, rz (distance approximated)."""
        cx, cz, rx, rz = (_b(v) for v in (cx, cz, rx, rz))
        u = ((self.x - cx) / rx) ** 2
        d = ((self.z - cz) / rz) ** 2 + u
        np.sqrt(d, out=d)
        d -= 1.0
        d *= np.minimum(rx, rz)
        self.paint(d, colour, **light)

    def ring(self, cx, cz, radius, half_width, colour, **light) -> None:
        """A circle of the given radius drawn with a line half_width thick on each side."""
        cx, cz, radius, half_width = (_b(v) for v in (cx, cz, radius, half_width))
        d = (self.z - cz) ** 2 + (self.x - cx) ** 2
        np.sqrt(d, out=d)
        d -= radius
        np.abs(d, out=d)
        d -= half_width
        self.paint(d, colour, **light)

    def box(self, x0, z0, x1, z1, r, colour, **light) -> None:
        """An axis-aligned box [x0, x1] x [z0, z1] with corners rounded by r."""
        x0, z0, x1, z1, r = (_b(v) for v in (x0, z0, x1, z1, r))
        qx = np.abs(self.x - 0.5 * (x0 + x1)) - (0.5 * (x1 - x0) - r)
        qz = np.abs(self.z - 0.5 * (z0 + z1)) - (0.5 * (z1 - z0) - r)
        outside = np.maximum(qx, 0.0) ** 2 + np.maximum(qz, 0.0) ** 2
        np.sqrt(outside, out=outside)
        inside = np.maximum(qx, qz)
        np.minimum(inside, 0.0, out=inside)
        outside += inside
        outside -= r
        self.paint(outside, colour, **light)

    def trapezoid(self, cx, z0, z1, half0, half1, colour, **light) -> None:
        """A trapezoid from z0 (half-width half0) to z1 (half1), symmetric about cx."""
        cx, z0, z1, half0, half1 = (_b(v) for v in (cx, z0, z1, half0, half1))
        half = half0 + (half1 - half0) * np.clip((self.z - z0) / (z1 - z0), 0.0, 1.0)
        d = np.abs(self.x - cx) - half
        np.maximum(d, np.maximum(z0 - self.z, self.z - z1), out=d)
        self.paint(d, colour, **light)


# ---------------------------------------------------------------------------------------------
# The kinds. The renderer hands each drawer a batch of one kind and one variant, with the
# gait or pedal phase per crop; `extent` gives the box a detector would put around each.


def _grey(v: float) -> np.ndarray:
    return np.full(3, v, dtype=np.float32)


def _walker(cv: Canvas, o: Objects, phase, x0=0.0, hand=None) -> None:
    """A person walking, side view, facing +x. hand: the (x, z) the near arm reaches for."""
    h = o.size_m
    hip_z, sh_z = 0.52 * h, 0.81 * h
    upper, lower = o.colour[:, 0], o.colour[:, 1]
    for side, shade in ((np.pi, 0.75), (0.0, 1.0)):  # far limbs first, in shadow
        ph = phase + side
        swing = 0.42 * np.sin(ph)
        bend = 0.7 * np.maximum(np.cos(ph), 0.0) ** 2  # the knee flexes as the leg swings
        kx, kz = x0 + 0.245 * h * np.sin(swing), hip_z - 0.245 * h * np.cos(swing)
        fx, fz = kx + 0.25 * h * np.sin(swing - bend), kz - 0.25 * h * np.cos(swing - bend)
        cv.capsule(x0, hip_z, kx, kz, 0.045 * h, lower * shade)
        cv.capsule(kx, kz, fx, fz, 0.036 * h, lower * shade)
        if side == 0.0:
            cv.capsule(x0 + 0.01 * h, hip_z + 0.03 * h, x0, sh_z, 0.075 * h, upper)
        if hand is not None:
            hx, hz = hand
        else:
            arm = -0.38 * np.sin(ph)
            hx, hz = x0 + 0.36 * h * np.sin(arm), sh_z - 0.36 * h * np.cos(arm)
        cv.capsule(x0, sh_z, hx, hz, 0.032 * h, upper * shade)
    cv.ellipse(x0 + 0.02 * h, 0.93 * h, 0.055 * h, 0.066 * h, o.colour[:, 2])


def _pedestrian_side(cv: Canvas, o: Objects, phase) -> None:
    _walker(cv, o, phase)


def _pedestrian_front(cv: Canvas, o: Objects, phase) -> None:
    """Seen from in front or behind: legs side by side, lifted in turn, arms swinging."""
    h = o.size_m
    upper, lower = o.colour[:, 0], o.colour[:, 1]
    for sign, ph in ((-1.0, phase), (1.0, phase + np.pi)):
        lift = 0.04 * h * np.maximum(np.sin(ph), 0.0)
        cv.capsule(sign * 0.055 * h, 0.5 * h, sign * 0.06 * h, 0.03 * h + lift, 0.045 * h, lower)
        hand_z = (0.45 + 0.05 * np.abs(np.sin(ph))) * h
        cv.capsule(sign * 0.14 * h, 0.79 * h, sign * 0.16 * h, hand_z, 0.032 * h, upper)
    cv.ellipse(0.0, 0.66 * h, 0.12 * h, 0.16 * h, upper)
    cv.ellipse(0.0, 0.93 * h, 0.06 * h, 0.066 * h, o.colour[:, 2])


def _bike_scale(o: Objects) -> np.ndarray:
    return 0.92 + 0.14 * o.shape[:, 3]


def _bicycle_side(cv: Canvas, o: Objects) -> tuple:
    """A bicycle side-on, facing +x, centred on x = 0; wheel reflectors where fitted.

    Returns the handlebar, saddle and bottom-bracket points (x, z) for a rider or walker."""
    s = _bike_scale(o)
    r, hub = BIKE_R * s, 0.5 * BIKE_WB * s
    bb, seat = (-0.05 * s, 0.28 * s), (-0.20 * s, 0.86 * s)
    head_top, head_bot = (0.36 * s, 0.93 * s), (0.41 * s, 0.70 * s)
    bar = (0.33 * s, 1.02 * s)
    refl = np.where(o.reflector, 30.0, 0.0)
    for cx in (-hub, hub):
        cv.ring(cx, r, r - 0.02, 0.03, _grey(WHEEL))
        disc = np.where(o.reflector[:, None], _grey(0.5), _grey(WHEEL))  # or just spokes
        cv.ellipse(cx + 0.6 * r, r, 0.03, 0.03, disc, retro=refl)
    tubes = (bb, seat), (seat, head_top), (bb, head_bot), ((-hub, r), bb), (head_bot, (hub, r))
    for a, b in tubes:
        cv.capsule(a[0], a[1], b[0], b[1], 0.02, o.colour[:, 3])
    cv.capsule(head_top[0], head_top[1], bar[0], bar[1], 0.022, _grey(0.08))
    cv.capsule(
        seat[0] - 0.1 * s, seat[1] + 0.04, seat[0] + 0.07 * s, seat[1] + 0.05, 0.03, _grey(0.05)
    )
    return bar, seat, bb


def _walking_bicycle_behind(cv: Canvas, o: Objects, phase) -> None:
    """The person on the far side of the bicycle: drawn first, partly hidden by it."""
    s = _bike_scale(o)
    _walker(cv, o, phase, -0.05 - 0.25 * o.shape[:, 0], hand=(0.33 * s, 1.02 * s))
    _bicycle_side(cv, o)


def _walking_bicycle_in_front(cv: Canvas, o: Objects, phase) -> None:
    bar, _, _ = _bicycle_side(cv, o)
    _walker(cv, o, phase, -0.05 - 0.25 * o.shape[:, 0], hand=bar)


def _knee(hip, foot, thigh, shin):
    """A two-link leg: the knee on the forward side of the hip-foot line (law of cosines)."""
    dx, dz = foot[0] - hip[0], foot[1] - hip[1]
    d = np.minimum(np.hypot(dx, dz), 0.999 * (thigh + shin))
    beta = np.arccos(np.clip((thigh**2 + d**2 - shin**2) / (2 * thigh * d), -1.0, 1.0))
    ang = np.arctan2(dz, dx) + beta
    return hip[0] + thigh * np.cos(ang), hip[1] + thigh * np.sin(ang)


def _cyclist_side(cv: Canvas, o: Objects, phase) -> None:
    bar, seat, bb = _bicycle_side(cv, o)
    h = o.size_m
    hip = (seat[0] - 0.02, seat[1] + 0.06)
    lean = np.deg2rad(40 + 25 * o.shape[:, 0])
    sh = (hip[0] + 0.3 * h * np.cos(lean), hip[1] + 0.3 * h * np.sin(lean))
    for side, shade in ((np.pi, 0.75), (0.0, 1.0)):
        pedal = (bb[0] + 0.17 * np.cos(phase + side), bb[1] + 0.17 * np.sin(phase + side))
        kx, kz = _knee(hip, pedal, 0.245 * h, 0.26 * h)
        cv.capsule(hip[0], hip[1], kx, kz, 0.045 * h, o.colour[:, 1] * shade)
        cv.capsule(kx, kz, pedal[0], pedal[1], 0.036 * h, o.colour[:, 1] * shade)
        if side == 0.0:
            cv.capsule(hip[0], hip[1], sh[0], sh[1], 0.075 * h, o.colour[:, 0])
    cv.capsule(sh[0], sh[1], bar[0], bar[1], 0.032 * h, o.colour[:, 0])
    cv.ellipse(sh[0] + 0.08 * h, sh[1] + 0.09 * h, 0.055 * h, 0.066 * h, o.colour[:, 2])


def _cyclist_rear(cv: Canvas, o: Objects, phase) -> None:
    h, s = o.size_m, _bike_scale(o)
    hip_z = 0.92 * s
    cv.ellipse(0.0, BIKE_R * s, 0.03, BIKE_R * s, _grey(TYRE))
    cv.capsule(-0.25, 1.0 * s, 0.25, 1.0 * s, 0.02, _grey(0.08))
    for sign, ph in ((-1.0, phase), (1.0, phase + np.pi)):
        pedal_z = 0.28 * s + 0.17 * np.sin(ph)
        knee_z = 0.5 * (hip_z + pedal_z) + 0.1
        cv.capsule(sign * 0.08 * h, hip_z, sign * 0.13 * h, knee_z, 0.045 * h, o.colour[:, 1])
        cv.capsule(sign * 0.13 * h, knee_z, sign * 0.09, pedal_z, 0.036 * h, o.colour[:, 1])
        cv.capsule(sign * 0.12 * h, hip_z + 0.27 * h, sign * 0.25, s, 0.03 * h, o.colour[:, 0])
    cv.ellipse(0.0, hip_z + 0.15 * h, 0.12 * h, 0.16 * h, o.colour[:, 0])
    cv.ellipse(0.0, hip_z + 0.36 * h, 0.06 * h, 0.066 * h, o.colour[:, 2])
    refl = np.where(o.reflector, 30.0, 0.0)
    cv.ellipse(0.0, 0.78 * s, 0.035, 0.035, np.array([0.6, 0.05, 0.04]), retro=refl)


def _vehicle_width(o: Objects) -> np.ndarray:
    return 1.7 + 0.3 * o.shape[:, 0]


def _vehicle_end(cv: Canvas, o: Objects, front: bool) -> None:
    """A car from behind (tail lamps, number plate) or from the front (headlamps, grille)."""
    h, half = o.size_m, 0.5 * _vehicle_width(o)
    body = o.colour[:, 0]
    for sign in (-1.0, 1.0):
        cv.box(sign * (half - 0.32), 0.0, sign * (half - 0.08), 0.34, 0.04, _grey(TYRE))
    cv.box(-half, 0.22, half, 0.6 * h, 0.1, body)
    cv.box(-half + 0.12, 0.55 * h, half - 0.12, h, 0.15, body)
    cv.box(-half + 0.22, 0.64 * h, half - 0.22, 0.94 * h, 0.06, _grey(GLASS))
    cv.box(-half, 0.2, half, 0.32, 0.04, body * 0.5)
    if front:
        lamp_rho, lamp, refl = _grey(0.7), np.array([1.0, 1.0, 0.95]) * 6.0, None
    else:
        lamp_rho, lamp = np.array([0.45, 0.03, 0.03]), np.array([1.0, 0.04, 0.03]) * 1.5
        refl = np.where(o.reflector, 20.0, 0.0)
    for sign in (-1.0, 1.0):
        x0, x1 = sign * (half - 0.3), sign * (half - 0.06)
        cv.box(
            np.minimum(x0, x1),
            0.5 * h,
            np.maximum(x0, x1),
            0.58 * h,
            0.03,
            lamp_rho,
            glow=lamp,
            retro=refl,
        )
    if front:
        cv.box(-0.35, 0.36, 0.35, 0.48 * h, 0.04, _grey(0.04))
    else:
        cv.box(-0.16, 0.36, 0.16, 0.49, 0.01, _grey(0.6), glow=_grey(0.3))


def _vehicle_rear(cv: Canvas, o: Objects, phase) -> None:
    _vehicle_end(cv, o, front=False)


def _vehicle_front(cv: Canvas, o: Objects, phase) -> None:
    _vehicle_end(cv, o, front=True)


def _vehicle_side(cv: Canvas, o: Objects, phase) -> None:
    h, L = o.size_m, o.length_m
    body = o.colour[:, 0]
    cv.box(-0.5 * L, 0.25, 0.5 * L, 0.58 * h, 0.15, body)
    cv.box(-0.32 * L, 0.52 * h, 0.2 * L, h, 0.2, body)
    cv.box(-0.29 * L, 0.6 * h, 0.17 * L, 0.92 * h, 0.06, _grey(GLASS))
    for cx in (-0.32 * L, 0.32 * L):
        cv.ellipse(cx, 0.33, 0.33, 0.33, _grey(TYRE))
        cv.ellipse(cx, 0.33, 0.18, 0.18, _grey(0.35))
    cv.box(
        0.5 * L - 0.22,
        0.46 * h,
        0.5 * L - 0.02,
        0.53 * h,
        0.02,
        _grey(0.7),
        glow=np.array([1.0, 1.0, 0.95]) * 3.0,
    )
    cv.box(
        -0.5 * L + 0.02,
        0.48 * h,
        -0.5 * L + 0.16,
        0.55 * h,
        0.02,
        np.array([0.45, 0.03, 0.03]),
        glow=np.array([1.0, 0.04, 0.03]),
    )


def _bag(cv: Canvas, o: Objects, phase) -> None:
    h, w, u = o.size_m, o.length_m, o.shape
    lift = 0.4 * h * (u[:, 1] > 0.7) * u[:, 2]  # now and then blown off the ground
    for k, (dx, dz, sx, sz) in enumerate(
        ((0.0, 0.5, 0.5, 0.5), (-0.2, 0.6, 0.3, 0.35), (0.25, 0.35, 0.3, 0.3))
    ):
        jitter = 0.15 * (u[:, (k + 2) % 4] - 0.5)
        cv.ellipse(
            (dx + jitter) * w, lift + dz * h, sx * w, sz * h, o.colour[:, 0] * (1 - 0.15 * k)
        )


def _sign(cv: Canvas, o: Objects, phase) -> None:
    h, plate = o.size_m, np.maximum(o.length_m, 0.45)
    cv.capsule(0.0, 0.0, 0.0, h - 0.5 * plate, 0.04, _grey(POLE))
    corner = 0.5 * plate * o.shape[:, 0]  # a square, a rounded square or a disc
    refl = np.where(o.reflector, 30.0, 0.0)
    cv.box(
        -0.5 * plate, h - plate, 0.5 * plate, h, corner, np.maximum(o.colour[:, 0], 0.3), retro=refl
    )


def _debris(cv: Canvas, o: Objects, phase) -> None:
    h, w, u = o.size_m, o.length_m, o.shape
    for k, dx in enumerate((-0.3, 0.0, 0.3)):
        sx, sz = (0.15 + 0.2 * u[:, k]) * w, (0.3 + 0.3 * u[:, (k + 1) % 4]) * h
        cv.ellipse(dx * w, 0.4 * h, sx, sz, o.colour[:, 0] * (0.7 + 0.15 * k))


def _cone(cv: Canvas, o: Objects, phase) -> None:
    h, w = o.size_m, o.length_m
    refl = np.where(o.reflector, 30.0, 0.0)
    cv.box(-0.5 * w, 0.0, 0.5 * w, 0.05 * h, 0.0, _grey(0.05))
    cv.trapezoid(0.0, 0.0, h, 0.32 * w, 0.06 * w, np.array([0.6, 0.2, 0.04]))
    cv.trapezoid(0.0, 0.5 * h, 0.7 * h, 0.2 * w, 0.14 * w, _grey(0.7), retro=refl)


def _bin(cv: Canvas, o: Objects, phase) -> None:
    h, w = o.size_m, o.length_m
    cv.box(-0.45 * w, 0.05, 0.45 * w, 0.92 * h, 0.04, o.colour[:, 0])
    cv.box(-0.5 * w, 0.9 * h, 0.5 * w, h, 0.03, o.colour[:, 0] * 0.8)
    for sign in (-1.0, 1.0):
        cv.ellipse(sign * 0.35 * w, 0.08, 0.08, 0.08, _grey(TYRE))


def _bush(cv: Canvas, o: Objects, phase) -> None:
    h, w, u = o.size_m, o.length_m, o.shape
    green = np.array([0.05, 0.12, 0.04], dtype=np.float32) * (0.6 + 0.8 * u[:, :1])
    for k, (dx, dz) in enumerate(((-0.25, 0.4), (0.25, 0.45), (0.0, 0.65), (0.05, 0.3))):
        rx, rz = (0.28 + 0.12 * u[:, k]) * w, (0.3 + 0.1 * u[:, (k + 1) % 4]) * h
        cv.ellipse(dx * w, dz * h, rx, rz, green * (0.8 + 0.1 * k))


Drawer = Callable[[Canvas, Objects, np.ndarray], None]
DRAWERS: dict[tuple[str, str], Drawer] = {
    ("pedestrian", "side"): _pedestrian_side,
    ("pedestrian", "front"): _pedestrian_front,
    ("walking-bicycle", "person-behind"): _walking_bicycle_behind,
    ("walking-bicycle", "person-in-front"): _walking_bicycle_in_front,
    ("cyclist", "side"): _cyclist_side,
    ("cyclist", "rear"): _cyclist_rear,
    ("vehicle", "rear"): _vehicle_rear,
    ("vehicle", "side"): _vehicle_side,
    ("vehicle", "front"): _vehicle_front,
    ("other", "bag"): _bag,
    ("other", "sign"): _sign,
    ("other", "debris"): _debris,
    ("other", "cone"): _cone,
    ("other", "bin"): _bin,
    ("other", "bush"): _bush,
}


def drawer(kind: int, variant: int) -> Drawer:
    name = KINDS[kind]
    return DRAWERS[(name, VARIANTS[name][variant])]


def extent(o: Objects) -> tuple[np.ndarray, np.ndarray]:
    """(width, height) in metres of the box a detector would draw around each object."""
    kind, var = o.kind, o.variant
    h = o.size_m.astype(np.float64)
    s = _bike_scale(o).astype(np.float64)
    bike_w = (BIKE_WB + 2 * BIKE_R) * s
    cases = [
        ((kind == 0) & (var == 0), 0.45 * h, h),
        (kind == 0, 0.34 * h, h),
        (kind == 1, bike_w, np.maximum(h, 1.05 * s)),
        ((kind == 2) & (var == 0), bike_w, 0.98 * s + 0.46 * h),
        (kind == 2, np.full_like(h, 0.6), 0.98 * s + 0.46 * h),
        ((kind == 3) & (var == 1), o.length_m, h),
        (kind == 3, _vehicle_width(o), h),
    ]
    conds = [c for c, _, _ in cases]
    w = np.select(conds, [w for _, w, _ in cases], default=o.length_m)
    height = np.select(conds, [ht for _, _, ht in cases], default=h)
    return w.astype(np.float32), height.astype(np.float32)
