"""What a forward camera sees of one object each frame: a small renderer in numpy.

A crop is the detector's box around the object, widened by a margin (`MARGIN`) and made
square (side S metres), resampled to size x size pixels: float32, (N, C, H, W), in [0, 1].
The scene is drawn in the object's plane (`scenarios.sprites`), lit, and passed through the
camera's optics and sensor as linear operators that act on each axis separately:

    crop = gamma( U (D Ky L Kx^T D^T + noise) U^T )

where L is the scene's radiance at crop resolution, K the optics' point spread (a Gaussian of
`psf_sigma_px` sensor pixels) with, along x, the motion blur (a box of v_perp t_exp metres, the
relative motion across the line of sight during the exposure), D averages crop pixels into
sensor pixels and U resamples sensor pixels bilinearly back to the crop (the detector's
resize). Far away an object spans few sensor pixels and U D throws its detail away; near, a
crop pixel averages several sensor pixels and its noise shrinks by their number.

The camera is a pinhole (`Camera`): a 6.0 mm lens on 3.0 um pixels gives f = 2000 px, and an
object H metres high at range d is f H / d pixels high (1.7 m at 50 m: 68 px). One sensor pixel
covers d / f metres at the object.

Light (lux): the scene's ambient light (daylight, dusk, street lamps) plus the observing car's
low beams. A low beam's luminous intensity I(bearing, elevation) is high below its cut-off
(0.57 degrees below the horizontal on the left, rising towards the kerb on the right, as US
low beams are aimed) and a few per cent of that above it (`Headlamps`). A surface facing the
car at range d, z metres up, receives E = I / d^2, so the legs of a pedestrian are lit long
before her head and the light falls with the square of the range; the road, lit at grazing
incidence, receives I h / D^3 at distance D. Lamps (vehicles') and retroreflectors (bicycles',
signs', cones') add their own light.

The sensor counts electrons: k = QE A tau / (4 N^2) x 4.09e15 photons per lux-second per square
metre (555 nm) on a pixel that images a white Lambertian surface, about 1,900 e- per lux-second
for this camera. Auto-exposure maps `white_lux` (the scene's ambient light, or at night the
road lit by the car's own lamps, 20 lux) to white, with the exposure capped at 1/30 s; at night
a dark coat gives a few electrons per pixel. Shot noise (Poisson, as a normal of variance e)
and read noise (`read_noise_e`) are added in electrons, then the camera's gamma encodes.

Randomness: each crop draws one row of `uniforms_per_crop(size, channels)` numbers from the
generator, in order, so crop i gets the same numbers whatever else is in the batch (a batch's
first k crops equal a batch of those k), and the same generator state gives the same crops. A
caller that keeps a stream per crop (the classifier in the loop: one per run and frame) passes
the rows itself (`uniforms`), each drawn as `rng.random(uniforms_per_crop(...), np.float32)`.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np

from fragility.errors import ConfigError
from scenarios import sprites
from scenarios.sprites import Canvas, Objects

MARGIN = 0.3  # the crop's side is the box's larger side times 1 + MARGIN
PHOTONS_PER_LUX_S_M2 = 4.09e15  # 1 lux = 1/683 W/m^2 at 555 nm; one photon is 3.58e-19 J
LAMPS_BELOW_LUX = 1000.0  # vehicles drive with their lamps on below this ambient light
GROUP = 256  # crops rendered together: arrays of GROUP x size^2 floats stay in cache
CHUNK = 2048  # crops whose random numbers are drawn at once

LIGHTING = {  # name: (ambient lux, the observing car's headlamps on)
    "day": (10_000.0, False),
    "dusk": (300.0, True),
    "night-lit": (15.0, True),  # under street lamps
    "night-unlit": (1.0, True),  # a stretch not directly lit: spill from lamps further away
}


@dataclass(frozen=True)
class Camera:
    """A forward camera: a pinhole lens on a CMOS sensor, mounted behind the windscreen.

    The values are those of a typical automotive camera (U: the record does not describe
    Uber's cameras): 1920 x 1216 pixels of 3.0 um behind a 6.0 mm f/1.6 lens (51 x 34
    degrees), 10,000 e- full well, 3 e- read noise, mounted 1.4 m up; low beams 0.65 m up.
    """

    focal_mm: float = 6.0
    pixel_um: float = 3.0
    width_px: int = 1920
    height_px: int = 1216
    f_number: float = 1.6
    transmission: float = 0.9
    quantum_efficiency: float = 0.6
    full_well_e: float = 10_000.0
    read_noise_e: float = 3.0
    psf_sigma_px: float = 0.5
    max_exposure_s: float = 1 / 30
    gamma: float = 2.2
    height_m: float = 1.4
    lamp_height_m: float = 0.65

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if not getattr(self, f.name) > 0:
                raise ConfigError(f"camera {f.name} must be positive, not {getattr(self, f.name)}")

    @property
    def focal_px(self) -> float:
        """Focal length in pixels: f / pixel pitch."""
        return self.focal_mm / (self.pixel_um * 1e-3)

    @property
    def hfov_deg(self) -> float:
        return math.degrees(2 * math.atan(0.5 * self.width_px / self.focal_px))

    @property
    def vfov_deg(self) -> float:
        return math.degrees(2 * math.atan(0.5 * self.height_px / self.focal_px))

    def pixel_height(self, height_m, range_m):
        """Pixels spanned by an object of height_m at range_m (pinhole: f H / d)."""
        return self.focal_px * np.asarray(height_m) / np.asarray(range_m)

    def in_view(self, range_m, bearing_rad, height_m=0.0):
        """Whether a point height_m up at (range_m, bearing_rad) falls inside the image, for a
        camera looking level along the road: |bearing| and the elevation within half the
        fields of view."""
        half_h, half_v = math.radians(self.hfov_deg / 2), math.radians(self.vfov_deg / 2)
        elevation = np.arctan2(np.asarray(height_m) - self.height_m, range_m)
        return (np.abs(bearing_rad) <= half_h) & (np.abs(elevation) <= half_v)

    @property
    def electrons_per_lux_s(self) -> float:
        """Electrons per lux-second in a pixel imaging a white Lambertian surface.

        Image-plane illuminance is E tau / (4 N^2) for scene illuminance E on a white surface
        (its luminance is E / pi); times the photon flux per lux, the pixel's area and QE."""
        image = self.transmission / (4 * self.f_number**2)
        area = (self.pixel_um * 1e-6) ** 2
        return image * PHOTONS_PER_LUX_S_M2 * area * self.quantum_efficiency

    def exposure(self, ambient_lux, headlights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(white lux, exposure s, electrons at white) chosen by a simple auto-exposure.

        White is the ambient light (a little over it), or 20 lux at night with the car's own
        lamps on: the road just ahead. The exposure fills 80 % of the well at white, capped at
        max_exposure_s; below the cap, gain makes up the difference."""
        ambient = np.asarray(ambient_lux, dtype=np.float64)
        white = np.maximum(1.1 * ambient, np.where(headlights, 20.0, 1e-3))
        k = self.electrons_per_lux_s
        t = np.minimum(self.max_exposure_s, 0.8 * self.full_well_e / (0.9 * white * k))
        return white, t, 0.9 * white * t * k


@dataclass(frozen=True)
class Headlamps:
    """US low beams, both lamps together (luminous intensity in candela).

    Below the cut-off the beam gives `intensity_cd` (a hot spot of 2 x 15,000 cd, spread
    horizontally as a Gaussian of `spread_deg`); above it, `glare_ratio` of that. The cut-off
    lies `cutoff_deg` below the horizontal on the left (towards oncoming traffic) and rises by
    `kerb_rise_deg` towards the kerb over 15 degrees to the right; it is softened over
    `soft_deg`. Values typical of SAE J1383 / ECE R112 beams (U: the record gives none)."""

    intensity_cd: float = 30_000.0
    spread_deg: float = 12.0
    cutoff_deg: float = -0.57
    kerb_rise_deg: float = 2.0
    soft_deg: float = 0.25
    glare_ratio: float = 0.025

    def intensity(self, bearing_rad, elevation_rad):
        """I (cd) toward a direction: bearing left-positive, elevation up-positive."""
        b, e = np.degrees(bearing_rad), np.degrees(elevation_rad)
        cut = self.cutoff_deg + self.kerb_rise_deg * np.clip(-b / 15.0, 0.0, 1.0)
        below = 1.0 / (1.0 + np.exp(np.clip((e - cut) / self.soft_deg, -50, 50)))
        spread = np.exp(-0.5 * (b / self.spread_deg) ** 2)
        return self.intensity_cd * spread * (self.glare_ratio + (1 - self.glare_ratio) * below)


CAMERA, LOW_BEAMS = Camera(), Headlamps()


def facing_illuminance(range_m, bearing_rad, z_m, camera=CAMERA, lamps=LOW_BEAMS):
    """Lux from the low beams on a surface facing the car, z_m up, at range_m: I / r^2."""
    dz = np.asarray(z_m) - camera.lamp_height_m
    r2 = np.asarray(range_m) ** 2 + dz**2
    return lamps.intensity(bearing_rad, np.arctan2(dz, range_m)) / r2


def ground_illuminance(distance_m, bearing_rad, camera=CAMERA, lamps=LOW_BEAMS):
    """Lux from the low beams on the road distance_m ahead: I h / (D^2 + h^2)^1.5."""
    h = camera.lamp_height_m
    d = np.asarray(distance_m)
    return lamps.intensity(bearing_rad, -np.arctan2(h, d)) * h / (d * d + h * h) ** 1.5


@dataclass(frozen=True)
class Views:
    """How each crop sees its object (arrays of length n).

    range_m: camera to object; bearing_rad: left-positive; v_perp_mps: relative speed across
    the line of sight (motion blur); time_s: the frame's time (gait phase); ambient_lux and
    headlights: the light (see LIGHTING); crosswalk: a zebra crossing under the object;
    occlusion: share of the crop hidden by something nearer, from side 1 left, 2 right,
    3 below (0 none); jitter (n, 3): the detector box's error (x and z shift as shares of its
    width and height, scale as a share)."""

    range_m: np.ndarray
    bearing_rad: np.ndarray
    v_perp_mps: np.ndarray
    time_s: np.ndarray
    ambient_lux: np.ndarray
    headlights: np.ndarray
    crosswalk: np.ndarray
    occlusion: np.ndarray
    occlusion_side: np.ndarray
    jitter: np.ndarray

    def __len__(self) -> int:
        return len(self.range_m)

    @classmethod
    def of(cls, n: int, lighting: str = "day", **fields) -> Views:
        """n views: each field a scalar (repeated) or an array; missing fields take plain
        defaults (no motion, no crosswalk, no occlusion, no jitter) and `lighting`'s light."""
        if lighting not in LIGHTING:
            raise ConfigError(f"unknown lighting {lighting!r}; choose one of {', '.join(LIGHTING)}")
        ambient, lamps = LIGHTING[lighting]
        defaults = {
            "range_m": 20.0,
            "bearing_rad": 0.0,
            "v_perp_mps": 0.0,
            "time_s": 0.0,
            "ambient_lux": ambient,
            "headlights": lamps,
            "crosswalk": False,
            "occlusion": 0.0,
            "occlusion_side": 0,
            "jitter": np.zeros(3),
        }
        unknown = sorted(set(fields) - set(defaults))
        if unknown:
            raise ConfigError(f"unknown view fields: {', '.join(unknown)}")
        types = {"headlights": bool, "crosswalk": bool, "occlusion_side": np.int8}
        out = {}
        for name, default in {**defaults, **fields}.items():
            value = np.asarray(default, dtype=types.get(name, np.float64))
            shape = (n, 3) if name == "jitter" else (n,)
            try:
                out[name] = np.broadcast_to(value, shape).copy()
            except ValueError:
                raise ConfigError(
                    f"view field {name} has shape {value.shape}; give a scalar or {shape}"
                ) from None
        return cls(**out)

    def take(self, idx) -> Views:
        return Views(**{f.name: getattr(self, f.name)[idx] for f in dataclasses.fields(self)})

    @staticmethod
    def concat(parts: list[Views]) -> Views:
        return Views(
            **{
                f.name: np.concatenate([getattr(p, f.name) for p in parts])
                for f in dataclasses.fields(Views)
            }
        )


def relative_view(cam_x, cam_y, cam_vx, cam_vy, obj_x, obj_y, obj_vx, obj_vy):
    """(range m, bearing rad left-positive, speed across the line of sight m/s) of an object
    seen from a camera looking along +x; positions and velocities in the world's metres."""
    dx, dy = np.asarray(obj_x) - cam_x, np.asarray(obj_y) - cam_y
    vx, vy = np.asarray(obj_vx) - cam_vx, np.asarray(obj_vy) - cam_vy
    r = np.hypot(dx, dy)
    return r, np.arctan2(dy, dx), (dx * vy - dy * vx) / r


# ---------------------------------------------------------------------------------------------
# Rendering


def _check(objects: Objects, views: Views, size: int, channels: int) -> None:
    if len(objects) not in (1, len(views)):
        raise ConfigError(f"{len(objects)} objects for {len(views)} views; give one or as many")
    if size < 8 or size > 256:
        raise ConfigError(f"crop size must be between 8 and 256 pixels, not {size}")
    if channels not in (1, 3):
        raise ConfigError(f"channels must be 1 (grey) or 3 (colour), not {channels}")
    if len(views) and not np.all(views.range_m > 0.5):
        raise ConfigError("every range must be more than 0.5 m: the camera sees nothing nearer")


class _U:
    """Columns of each crop's uniforms: what each random number is for."""

    GRID = 0  # the sensor grid's phase against the crop
    ROAD, FAR, PAINT = 1, 2, 3  # reflectances: asphalt, the far scene, crossing paint
    CROSS = slice(4, 8)  # crossing: depth, where the object stands on it, bar phase, style
    LANE = slice(8, 12)  # lane line: present, offset, dash phase, solid
    OCCLUDER = 12  # its grey
    LIGHTS = slice(13, 22)  # three far lamps: (on, row, column) each
    LIGHT_LEVEL = 22
    TEXTURE = slice(23, 39)  # 4 x 4 grid of the background's texture
    JITTER = slice(39, 43)  # the detector box's random error (two pairs for Box-Muller)
    N = 43  # then the sensor noise


def uniforms_per_crop(size: int, channels: int) -> int:
    """Uniforms one crop draws: _U.N, then two per pair of sensor-noise normals."""
    normals = channels * (size + 1) ** 2
    return _U.N + normals + normals % 2


def render(
    objects: Objects,
    views: Views,
    rng: np.random.Generator | None,
    *,
    size: int = 32,
    channels: int = 1,
    camera: Camera = CAMERA,
    lamps: Headlamps = LOW_BEAMS,
    noise: bool = True,
    box_jitter: float = 0.0,
    uniforms: np.ndarray | None = None,
) -> np.ndarray:
    """Crops (n, channels, size, size) float32 in [0, 1] of `objects` seen as `views` say.

    One object may stand for all views (a sequence of frames of one object). `box_jitter` is
    the standard deviation of the detector box's random error (shifts as shares of its width
    and height, and its scale), added to `views.jitter`. The generator is advanced by n rows
    of random numbers, one per crop (see the module docstring); or `uniforms` (n,
    uniforms_per_crop(size, channels)) float32 in [0, 1) gives those rows, and rng is unused."""
    _check(objects, views, size, channels)
    if not 0.0 <= box_jitter <= 0.3:
        raise ConfigError(f"box jitter must lie in [0, 0.3], not {box_jitter}")
    n = len(views)
    per_crop = uniforms_per_crop(size, channels)
    if uniforms is not None and (uniforms.shape != (n, per_crop) or uniforms.dtype != np.float32):
        raise ConfigError(f"uniforms must be float32 of shape ({n}, {per_crop})")
    if uniforms is None and rng is None:
        raise ConfigError("give a random generator or the crops' uniforms")
    if len(objects) == 1 and n != 1:
        objects = objects.repeat(n)
    out = np.empty((n, channels, size, size), dtype=np.float32)
    group_key = objects.kind.astype(np.int64) * 16 + objects.variant
    for start in range(0, n, CHUNK):
        stop = min(n, start + CHUNK)
        if uniforms is not None:
            u = uniforms[start:stop]
        else:
            u = rng.random((stop - start, per_crop), dtype=np.float32)
        keys = group_key[start:stop]
        for key in np.unique(keys):
            idx = np.flatnonzero(keys == key)
            for g in range(0, len(idx), GROUP):
                sub = idx[g : g + GROUP]
                crops = sub + start
                v = views.take(crops)
                if box_jitter:
                    extra = box_jitter * _box_muller(u[sub, _U.JITTER])[:, :3]
                    v = dataclasses.replace(v, jitter=v.jitter + np.clip(extra, -0.3, 0.3))
                out[crops] = _render_group(
                    objects.take(crops), v, u[sub], size, channels, camera, lamps, noise
                )
    return out


def _render_group(o, v, u, size, channels, camera, lamps, noise) -> np.ndarray:
    """One group of crops of a single kind and variant."""
    w, h = sprites.extent(o)
    jit = v.jitter.astype(np.float32)
    side = np.maximum(w, h) * (1 + MARGIN) * (1 + jit[:, 2])
    cx, cz = jit[:, 0] * w, 0.5 * h + jit[:, 1] * h
    t = (np.arange(size, dtype=np.float32) + 0.5) / size - 0.5
    x = (cx[:, None] + side[:, None] * t)[:, None, :]  # (n, 1, W): image x, metres
    z = (cz[:, None] - side[:, None] * t)[:, :, None]  # (n, H, 1): height above the ground
    pixel_m = side / size
    lit = v.ambient_lux < LAMPS_BELOW_LUX
    cv = Canvas(x * o.facing[:, None, None], z, pixel_m, channels, lit)
    phase = o.phase + 2 * np.pi * o.cadence_hz * v.time_s.astype(np.float32)
    sprites.drawer(int(o.kind[0]), int(o.variant[0]))(cv, o, phase)
    _occluder(cv, x, z, side, v, u[:, _U.OCCLUDER])
    radiance = _light(cv, x, z, v, u, camera, lamps)
    return _sensor(radiance, v, u, pixel_m, camera, noise)


def _occluder(cv: Canvas, x, z, side, v: Views, shade) -> None:
    """Something nearer (a parked car, a kerb-side bush) hiding a share of the crop."""
    s = np.where(v.occlusion > 0, v.occlusion_side, 0)[:, None, None]
    if not np.any(s > 0):
        return
    f = (v.occlusion * side).astype(np.float32)[:, None, None]
    left, right, bottom = x[:, :, :1] + f, x[:, :, -1:] - f, z[:, -1:, :] + f
    far = np.float32(1e6)
    d = np.where(s == 1, x - left, np.where(s == 2, right - x, far))
    d = np.where(s == 3, z - bottom, d).astype(np.float32)
    cv.paint(d, (0.03 + 0.2 * shade.astype(np.float32))[:, None] * np.ones(3, np.float32))


def _light(cv: Canvas, x, z, v: Views, u, camera: Camera, lamps: Headlamps) -> np.ndarray:
    """Radiance (n, C, H, W) in units of the exposure's white: object and background lit."""
    d, b = v.range_m[:, None, None], v.bearing_rad[:, None, None]
    on, amb = v.headlights[:, None, None], v.ambient_lux[:, None, None]
    white = camera.exposure(v.ambient_lux, v.headlights)[0][:, None, None]
    head = np.where(on, facing_illuminance(d, b, z, camera, lamps), 0.0)  # (n, H, 1)
    e_obj = ((amb + head) / white).astype(np.float32)
    # A row below the horizon (z < camera height) shows the road at distance d h / (h - z).
    ground = z < camera.height_m
    ground_m = d * camera.height_m / np.where(ground, camera.height_m - z, 1.0)
    ground_m = np.where(ground, np.minimum(ground_m, 1e4), 1e4)
    road_lux = np.where(on, ground_illuminance(ground_m, b, camera, lamps), 0.0)
    e_bg = ((amb + np.where(ground, road_lux, 0.0)) / white).astype(np.float32)
    rho_bg = _background(x, ground, ground_m, d, v, u, cv.inv_pixel)  # (n, H, W)
    out = cv.rho * e_obj[:, None]
    out += ((1.0 - cv.alpha) * rho_bg * e_bg)[:, None]
    if cv.glow is not None:
        out += cv.glow
    if cv.retro is not None:
        out += cv.retro * (head / white).astype(np.float32)[:, None]
    _far_lights(out, ground, v, u)
    return out


def _col(u, i) -> np.ndarray:
    """Column i of the uniforms as (n, 1, 1) float32."""
    return u[:, i].astype(np.float32)[:, None, None]


def _background(x, ground, ground_m, d, v: Views, u, inv_pixel) -> np.ndarray:
    """Reflectance behind the object: the road receding to the horizon (with a zebra crossing
    under the object where there is one, and now and then a lane line), the far scene above."""
    n, size = x.shape[0], x.shape[2]
    road, far = 0.06 + 0.08 * _col(u, _U.ROAD), 0.03 + 0.25 * _col(u, _U.FAR) ** 2
    tex = _texture(u[:, _U.TEXTURE].reshape(n, 4, 4), size)
    rho = np.where(ground, road, far) * (1.0 + 0.35 * tex)
    scale = np.where(ground, ground_m / d, 1.0).astype(np.float32)  # metres per metre at d
    pix = scale / inv_pixel  # a pixel's width on the road at that row
    crossing = np.flatnonzero(v.crosswalk)
    if len(crossing):
        i = crossing
        paint = _crosswalk(x[i] * scale[i], ground[i], ground_m[i], d[i], u[i], pix[i])
        rho[i] += paint * (0.55 + 0.2 * _col(u[i], _U.PAINT) - rho[i])
    lane = u[:, _U.LANE]
    i = np.flatnonzero(lane[:, 0] < 0.3)
    if len(i):
        offset = ((lane[i, 1] - 0.5) * 6.0)[:, None, None]
        line = 0.5 + (0.06 - np.abs(x[i] * scale[i] - offset)) / pix[i]
        np.clip(line, 0.0, 1.0, out=line)
        dashes = ((ground_m[i] - d[i]) / 12.0 + lane[i, 2, None, None]) % 1.0 < 0.25
        line *= ground[i] & (dashes | (lane[i, 3, None, None] < 0.4))
        rho[i] += line * (0.6 - rho[i])
    return rho


def _crosswalk(lateral, ground, ground_m, d, u, pix) -> np.ndarray:
    """Paint coverage (n, H, W) of a zebra crossing 3-4.5 m deep with the object somewhere on
    it: continental bars 0.6 m wide every 1.2 m (style 0), those and the two edge lines
    (ladder, style 1), or the edge lines alone (transverse, style 2)."""
    depth_u, where_u, phase_u, style_u = (u[:, _U.CROSS][:, i, None, None] for i in range(4))
    depth = 3.0 + 1.5 * depth_u
    near = d - depth * (0.2 + 0.6 * where_u)
    far_edge = near + depth
    style = np.floor(style_u * 3)
    on = ground & (ground_m > near) & (ground_m < far_edge) & (style < 2)  # (n, H, 1)
    phase = lateral / np.float32(1.2)
    phase += phase_u
    phase %= 1.0
    phase -= 0.5
    bars = np.abs(phase, out=phase)
    bars *= -1.2 / pix
    bars += 0.5 + 0.3 / pix
    np.clip(bars, 0.0, 1.0, out=bars)
    bars *= on
    edge = ground & ((np.abs(ground_m - near) < 0.15) | (np.abs(ground_m - far_edge) < 0.15))
    return np.maximum(bars, edge & (style > 0))


def _texture(coarse: np.ndarray, size: int) -> np.ndarray:
    """Smooth texture in [-0.5, 0.5]: a 4 x 4 grid of uniforms upsampled bilinearly."""
    m = _bilinear_matrix(coarse.shape[1], size)
    return (m @ (coarse.astype(np.float32) - 0.5) @ m.T).astype(np.float32)


def _bilinear_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in): linear interpolation at the output pixels' centres, edges held."""
    s = (np.arange(n_out) + 0.5) * n_in / n_out - 0.5
    k0 = np.clip(np.floor(s), 0, n_in - 1).astype(int)
    k1 = np.minimum(k0 + 1, n_in - 1)
    t = np.clip(s - k0, 0.0, 1.0)
    m = np.zeros((n_out, n_in), dtype=np.float32)
    np.add.at(m, (np.arange(n_out), k0), 1 - t)
    np.add.at(m, (np.arange(n_out), k1), t)
    return m


def _far_lights(out, ground, v: Views, u) -> None:
    """At night, up to three distant lamps (street lights, other cars) above the horizon."""
    n, _, size, _ = out.shape
    rows_above = np.sum(~ground[:, :, 0], axis=1)
    night = (v.ambient_lux < 50.0) & (rows_above > 0)
    lights = u[:, _U.LIGHTS].reshape(n, 3, 3)
    for k in range(3):
        i = np.flatnonzero(night & (lights[:, k, 0] < 0.3))
        r = np.minimum((lights[i, k, 1] * rows_above[i]).astype(int), size - 1)
        c = np.minimum((lights[i, k, 2] * size).astype(int), size - 1)
        out[i, :, r, c] += (1.0 + 7.0 * u[i, _U.LIGHT_LEVEL]).astype(np.float32)[:, None]


def _normal_cdf(x: np.ndarray) -> np.ndarray:
    """Phi(x) by the tanh approximation (error below 3e-4): enough for a blur kernel."""
    return 0.5 * (1.0 + np.tanh(0.7978845608 * (x + 0.044715 * x**3)))


def _blur_matrix(size: int, sigma, length) -> np.ndarray:
    """(n, size, size) rows: a box of `length` pixels (motion) and a pixel's width, convolved
    with a Gaussian of `sigma` pixels, as weights on the source pixels; rows sum to 1."""
    delta = np.arange(-(size - 1), size, dtype=np.float32)[None, :]
    sig = np.maximum(sigma, 1e-3).astype(np.float32)[:, None]
    half = (0.5 * (length + 1.0)).astype(np.float32)[:, None]
    k = _normal_cdf((delta + half) / sig) - _normal_cdf((delta - half) / sig)  # (n, 2 size - 1)
    idx = np.arange(size)[None, :] - np.arange(size)[:, None] + size - 1  # c_in - c_out
    # Contiguous, so that each row sums in the same order whatever the batch's size.
    m = np.ascontiguousarray(k[:, idx])
    return m / m.sum(axis=2, keepdims=True)


def _sensor_matrices(size: int, pitch: np.ndarray, offset: np.ndarray):
    """D (n, size + 1, size): crop pixels averaged into sensor pixels `pitch` crop pixels wide
    starting at `offset`; U (n, size, size + 1): sensor pixels resampled back bilinearly."""
    pitch, offset = pitch.astype(np.float32), offset.astype(np.float32)
    k = np.arange(size + 1, dtype=np.float32)[None, :, None]
    c = np.arange(size, dtype=np.float32)[None, None, :]
    p = pitch[:, None, None]
    lo = offset[:, None, None] + k * p
    overlap = np.clip(np.minimum(lo + p, c + 1) - np.maximum(lo, c), 0.0, None)
    total = overlap.sum(axis=2, keepdims=True)
    down = overlap / np.maximum(total, 1e-12)
    count = np.sum(total[:, :, 0] > 1e-9, axis=1)  # sensor pixels that see the crop
    s = (np.arange(size)[None, :] + 0.5 - offset[:, None]) / pitch[:, None] - 0.5
    last = (count - 1)[:, None]
    k0 = np.clip(np.floor(s), 0, last)
    k1 = np.minimum(k0 + 1, last)
    t = np.clip(s - k0, 0.0, 1.0)[:, :, None]
    cols = np.arange(size + 1)[None, None, :]
    up = (cols == k0[:, :, None]) * (1 - t) + (cols == k1[:, :, None]) * t
    return down, up.astype(np.float32)


def _sensor(radiance, v: Views, u, pixel_m, camera: Camera, noise: bool) -> np.ndarray:
    """Optics, motion blur, sensor sampling and noise, gamma: radiance to crop."""
    n, _, size, _ = radiance.shape
    _, exposure_s, e_white = camera.exposure(v.ambient_lux, v.headlights)
    pitch_raw = (v.range_m / camera.focal_px) / pixel_m  # one sensor pixel, in crop pixels
    pitch = np.maximum(pitch_raw, 1.0)
    offset = np.where(pitch_raw > 1.0, -u[:, _U.GRID] * pitch, 0.0)
    sigma = camera.psf_sigma_px * pitch_raw
    motion = np.abs(v.v_perp_mps) * exposure_s / pixel_m
    down, up = _sensor_matrices(size, pitch, offset)
    ax = down @ _blur_matrix(size, sigma, motion)  # (n, size + 1, size)
    ay = down @ _blur_matrix(size, sigma, np.zeros(n))
    img = ay[:, None] @ radiance @ np.swapaxes(ax, 1, 2)[:, None]  # (n, C, S1, S1)
    if noise:
        scale = e_white.astype(np.float32)[:, None, None, None]
        e = np.clip(img * scale, 0.0, camera.full_well_e)
        averaged = np.minimum(pitch_raw, 1.0).astype(np.float32)[:, None, None, None]
        std = np.sqrt(e + camera.read_noise_e**2) * averaged
        normals = _box_muller(u[:, _U.N :])[:, : img[0].size].reshape(img.shape)
        img = (e + std * normals) / scale  # a crop pixel averages 1 / pitch^2 sensor pixels
    out = up[:, None] @ img @ np.swapaxes(up, 1, 2)[:, None]
    np.clip(out, 0.0, 1.0, out=out)
    return np.power(out, np.float32(1.0 / camera.gamma), dtype=np.float32)


def _box_muller(u: np.ndarray) -> np.ndarray:
    """Standard normals from pairs of uniforms in [0, 1); 1 - u is at least 2^-24 in float32."""
    half = u.shape[1] // 2
    r = np.sqrt(-2.0 * np.log1p(-u[:, :half]))
    a = 2 * np.pi * u[:, half : 2 * half]
    return np.concatenate([r * np.cos(a), r * np.sin(a)], axis=1)


# ---------------------------------------------------------------------------------------------
# Sequences


def render_sequence(
    obj: Objects,
    views: Views,
    rng: np.random.Generator,
    *,
    runs: int = 1,
    **options,
) -> np.ndarray:
    """(runs, frames, C, size, size): one object over a trajectory of frames (`views`, one per
    frame: range, bearing, relative speed, time, light), rendered `runs` times with fresh
    noise, background and box jitter each time (`options` as for `render`). Run r's crops
    are the same whatever `runs` is, since each crop draws its own row of random numbers."""
    if len(obj) != 1:
        raise ConfigError(f"a sequence shows one object, not {len(obj)}")
    if runs < 1:
        raise ConfigError(f"runs must be at least 1, not {runs}")
    all_views = Views.concat([views] * runs)
    crops = render(obj, all_views, rng, **options)
    return crops.reshape(runs, len(views), *crops.shape[1:])
