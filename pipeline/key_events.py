"""DERIVED key-event phase labels for Penn Action, computed from the 2D joint trajectories.

Penn Action ships no phase labels and the published ones (TCC / CARL releases) are not available
here, so this module derives per-frame labels from the joints, following the key events of TCC
(Dwibedi et al. 2019, Table 2). They are *derived* labels, a stand-in for the published ones, never
ground truth: every rule below is a simple, documented heuristic on joint positions or velocities,
and the wrists stand in for the racket, bat, club, ball and bar.

Input: keypoints (T, 13, 3) in the PENN_ACTION joint order (pipeline/layouts.py), x, y in source
pixels or in heatmap grid coordinates (only ratios matter: every length is divided by the video's
torso length), image y growing downwards ("height" below is -y), confidence c, c = 0 a missing joint.

Preparation (`Track`): each joint's missing frames are filled by linear interpolation over time
(held constant before its first and after its last sighting); a joint never seen takes its left /
right partner's track, or (both sides never seen) an ankle / wrist continues its limb and any other
joint takes the mean of the others (a note names them); then every coordinate is lightly smoothed
(Gaussian, sigma 1 frame). Speeds are central differences of the smoothed tracks.

Labels: an action with k key events has k + 1 phases; the phase of frame t is the number of events
at or before t (event e is the first frame of phase i + 1), so phases never decrease. Events are
forced into strictly increasing order inside [1, T - 1], so all k + 1 phases are present whenever
T >= k + 1. `DerivedLabels.found[i]` is False when event i's rule did not fire as stated (no
crossing, the extreme on the first or last frame, or out of order) and a documented fallback placed
it: such videos' labels are less trustworthy.

Rules (`RULES`: action -> one name per event; "hands" = the mean of both wrists, "throwing /
hitting / bowling wrist" = the wrist with the larger peak speed (bowling: the larger height range),
heights are relative, in torso lengths; "walking" from a frame towards a local top / bottom stops
when the signal moves back by more than 5 % of its range):
- baseball_pitch (4): release = peak throwing-wrist speed; knee fully up = highest knee relative to
  the hips before release; arm fully stretched out = throwing wrist farthest from the shoulders'
  midpoint between knee-up and release.
- baseball_swing (3): bat hits ball = peak hand speed; bat swung back fully = hands farthest back
  (relative to the shoulders' midpoint) along the direction the hands move at contact, before it.
- bench_press (2): bar fully down = the hands' lowest point relative to the shoulders.
- bowl (3): the fastest descent of the bowling wrist (relative to the hips) is the forward swing;
  ball swung fully back = the local top of that wrist's height reached walking back from it;
  ball release = the local bottom reached walking forward from it.
- clean_and_jerk (6), the jerk first: the hands' final rise to their highest point (walking back
  from it to their local bottom) holds their fastest rise; begin thrusting = the last frame before
  that fastest rise where the hands rise slower than 25 % of its speed (the bottom of the dip, the
  start of the drive); beginning balance = the first frame after it where they rise slower than
  25 % again (the bar stops overhead). Then the clean: bar at hip = the first frame the hands rise
  from below to hip height; fully squatting = the lowest hip point (relative to the ankles) between
  bar at hip and begin thrusting (so the jerk's dip or split is not taken for it); standing = the
  first frame after it where the hips regain 90 % of their rise to their highest point before the
  thrust. A power clean (no squat) gets a shallow "squat"; its events are often not found.
- golf_swing (3): the fastest descent of the hands (relative to the hips) is the downswing; stick
  swung fully back = the local top of the hands reached walking back from it; stick hits ball = the
  local bottom reached walking forward from it.
- jumping_jacks (4): hands above head = the hands' highest point relative to the shoulders; hands
  at shoulders going up = the first frame of the run before it where the hands are at or above
  shoulder height; going down = the first frame after it where they are below shoulder height.
- pullup (2): chin above bar = the top of the pull, the highest head point relative to the hands
  (Penn's head joint is the head centre, not the chin).
- pushup (2): head at floor = the lowest head point relative to the hands (on the floor).
- situp (2): abs fully crunched = the smallest shoulder-hip-knee angle.
- squat (4): hips at floor = the lowest hip point relative to the ankles; hips at knees going down
  = the first frame of the run before it where the hips are at or below knee height; going up =
  the first frame after it where they are above knee height again. When the hips never reach knee
  height in 2D (about 60 % of the real Penn squats: partial squats, and front views, where the thighs
  are foreshortened) the knee level is taken 15 % of the hips' range above their bottom (a note says so).
- tennis_forehand (3): racket touches ball = peak hitting-wrist speed; racket swung fully back =
  hitting wrist farthest back (relative to the shoulders' midpoint) along its direction at contact.
- tennis_serve (4): ball touches racket = the hitting wrist's highest point; ball released from
  hand = the other wrist's highest point before it; racket swung fully back = the hitting wrist's
  lowest point between the two (the racket drop).
A repeated motion (several squats, jumping jacks, pull-ups) is labelled around its most pronounced
repetition (the global extreme), so the other repetitions fall into the first or last phase.
Actions without a rule (jump_rope, strum_guitar, anything else): `derive_phases` returns None.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.ndimage import gaussian_filter1d

from pipeline.layouts import PENN_ACTION

RULES_VERSION = "key-events-v1"
PHASE_SOURCE = f"derived:{RULES_VERSION}"
SMOOTH_SIGMA = 1.0  # frames
SHALLOW_SQUAT_LEVEL = 0.15  # squat: knee level of a squat whose hips stay above the knees (fraction of its range)

RULES: dict[str, tuple[str, ...]] = {
    "baseball_pitch": ("knee fully up", "arm fully stretched out", "ball release"),
    "baseball_swing": ("bat swung back fully", "bat hits ball"),
    "bench_press": ("bar fully down",),
    "bowl": ("ball swung fully back", "ball release"),
    "clean_and_jerk": ("bar at hip", "fully squatting", "standing", "begin thrusting", "beginning balance"),
    "golf_swing": ("stick swung fully back", "stick hits ball"),
    "jumping_jacks": ("hands at shoulders going up", "hands above head", "hands at shoulders going down"),
    "pullup": ("chin above bar",),
    "pushup": ("head at floor",),
    "situp": ("abs fully crunched",),
    "squat": ("hips at knees going down", "hips at floor", "hips at knees going up"),
    "tennis_forehand": ("racket swung fully back", "racket touches ball"),
    "tennis_serve": ("ball released from hand", "racket swung fully back", "ball touches racket"),
}
NUM_PHASES: dict[str, int] = {action: len(events) + 1 for action, events in RULES.items()}

_J = {name: i for i, name in enumerate(PENN_ACTION.joints)}
_WRISTS = ("l_wrist", "r_wrist")
_SHOULDERS = ("l_shoulder", "r_shoulder")
_HIPS = ("l_hip", "r_hip")
_KNEES = ("l_knee", "r_knee")
_ANKLES = ("l_ankle", "r_ankle")


@dataclass(frozen=True)
class DerivedLabels:
    """Derived (not ground-truth) key events and per-frame phases of one video.

    events: k frame indices, strictly increasing, each the first frame of the next phase.
    phases: (T,) int16, the number of events at or before each frame (0 .. k).
    rule_names: the k event names (RULES[action]).
    found: per event, True when its rule fired as documented, False when a fallback placed it.
    notes: remarks on how the rules applied (e.g. a shallow squat's knee level).
    """

    action: str
    events: list[int]
    phases: np.ndarray
    rule_names: list[str]
    found: list[bool] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def num_phases(self) -> int:
        return len(self.events) + 1

    @property
    def all_found(self) -> bool:
        return all(self.found)


def normalise_action(action: str) -> str:
    return action.strip().lower().replace(" ", "_").replace("-", "_")


def has_rule(action: str | None) -> bool:
    return action is not None and normalise_action(action) in RULES


def phases_from_events(events: list[int], num_frames: int) -> np.ndarray:
    """(T,) int16: the number of events at or before each frame."""
    return np.searchsorted(np.asarray(events, dtype=np.int64), np.arange(num_frames), side="right").astype(np.int16)


def events_from_phases(phases: np.ndarray) -> list[int]:
    """Frames where the label changes (the first frame of each new label), ignoring -1 (unknown)."""
    phases = np.asarray(phases)
    known = np.flatnonzero(phases >= 0)
    return [int(known[i]) for i in range(1, known.size) if phases[known[i]] != phases[known[i - 1]]]


def derive_phases(action: str, keypoints: np.ndarray) -> DerivedLabels | None:
    """Derived key events and phases of one Penn Action video; None for an action without a rule.

    keypoints: (T, 13, 3) PENN_ACTION joints (source pixels or grid coordinates, c = 0 missing).
    Raises ValueError for a wrong shape, no visible joint at all, or T < number of phases.
    """
    name = normalise_action(action)
    if name not in RULES:
        return None
    track = Track(keypoints)
    names = list(RULES[name])
    if track.num_frames < len(names) + 1:
        raise ValueError(f"{track.num_frames} frame(s): too short for the {len(names) + 1} phases of {name}")
    notes: list[str] = []
    if track.never_seen:
        notes.append(f"never seen, estimated: {', '.join(track.never_seen)}")
    rule = _RULE_FUNCTIONS[name]
    raw = rule(track, notes) if rule in _WITH_NOTES else rule(track)
    events, found = _finalise(raw, track.num_frames)
    return DerivedLabels(name, events, phases_from_events(events, track.num_frames), names, found, notes)


class Track:
    """Interpolated, lightly smoothed joint tracks of one video, with lengths in torso units."""

    def __init__(self, keypoints: np.ndarray, sigma: float = SMOOTH_SIGMA):
        keypoints = np.asarray(keypoints, dtype=np.float64)
        if keypoints.ndim != 3 or keypoints.shape[1:] != (PENN_ACTION.num_joints, 3):
            raise ValueError(f"keypoints have shape {keypoints.shape}, expected (T, {PENN_ACTION.num_joints}, 3)")
        xy, self.never_seen = _fill_missing(keypoints)
        if sigma > 0 and xy.shape[0] > 1:
            xy = gaussian_filter1d(xy, sigma, axis=0, mode="nearest")
        self.xy = xy
        self.num_frames = xy.shape[0]
        torso = np.linalg.norm(self.point(*_SHOULDERS) - self.point(*_HIPS), axis=1)
        scale = float(np.median(torso))
        if not scale > 1e-6:  # a degenerate torso: a third of the median skeleton height instead
            scale = float(np.median(np.ptp(xy[..., 1], axis=1))) / 3
        self.scale = scale if scale > 1e-6 else 1.0

    def point(self, *joints: str) -> np.ndarray:
        """(T, 2) mean position of the joints (image coordinates)."""
        return self.xy[:, [_J[j] for j in joints]].mean(axis=1)

    def height(self, *joints: str) -> np.ndarray:
        """(T,) height (up = positive) of the joints' mean, in torso lengths."""
        return -self.point(*joints)[:, 1] / self.scale

    def velocity(self, *joints: str) -> np.ndarray:
        """(T, 2) image velocity of the joints' mean, torso lengths per frame."""
        p = self.point(*joints) / self.scale
        return np.gradient(p, axis=0) if self.num_frames > 1 else np.zeros_like(p)

    def speed(self, *joints: str) -> np.ndarray:
        return np.linalg.norm(self.velocity(*joints), axis=1)


# a pair of joints never seen: (joint, parent, grandparent) -> joint = parent + (parent - grandparent)
_EXTEND = {"l_ankle": ("l_knee", "l_hip"), "r_ankle": ("r_knee", "r_hip"),
           "l_wrist": ("l_elbow", "l_shoulder"), "r_wrist": ("r_elbow", "r_shoulder")}


def _fill_missing(keypoints: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(T, K, 3) -> (T, K, 2) with missing joints (c <= 0 or not finite) filled, and the names of the
    joints never seen.

    A joint seen in some frames is interpolated linearly over time (held before its first and after
    its last sighting). A joint never seen takes its left / right partner's track; when both are
    never seen, an ankle or wrist continues its limb (knee + (knee - hip), elbow + (elbow -
    shoulder)) and any other joint takes the mean of the joints seen.
    """
    frames, joints = keypoints.shape[:2]
    xy = keypoints[..., :2].copy()
    valid = (keypoints[..., 2] > 0) & np.isfinite(xy).all(axis=-1)
    if not valid.any():
        raise ValueError("no visible joint in any frame")
    t = np.arange(frames)
    never = []
    for k in range(joints):
        if not valid[:, k].any():
            never.append(k)
            continue
        if valid[:, k].all():
            continue
        for d in range(2):
            xy[:, k, d] = np.interp(t, t[valid[:, k]], xy[valid[:, k], k, d])
    partner = dict(PENN_ACTION.flip_pairs) | {b: a for a, b in PENN_ACTION.flip_pairs}
    seen = [k for k in range(joints) if k not in never]
    unresolved = []
    for k in never:
        if partner.get(k) in seen:
            xy[:, k] = xy[:, partner[k]]
        else:
            unresolved.append(k)
    names = PENN_ACTION.joints
    for k in sorted(unresolved, key=lambda j: names[j] in _EXTEND):  # limbs' ends last: they use the others
        if names[k] in _EXTEND:
            parent, grand = (_J[n] for n in _EXTEND[names[k]])
            xy[:, k] = 2 * xy[:, parent] - xy[:, grand]
        else:
            xy[:, k] = xy[:, seen].mean(axis=1)
    return xy, [names[k] for k in never]


# ---- helpers: events are (frame or None, found) pairs until _finalise ------------------------------

Event = tuple[int | None, bool]


def _extreme(signal: np.ndarray, lo: int = 0, hi: int | None = None, mode: str = "max") -> Event:
    """Arg-extreme of signal[lo:hi]; found = False when it lies on the video's first or last frame."""
    hi = len(signal) if hi is None else hi
    if hi - lo < 1:
        return None, False
    part = signal[lo:hi]
    t = lo + int(np.argmax(part) if mode == "max" else np.argmin(part))
    return t, 0 < t < len(signal) - 1


def _walk(signal: np.ndarray, start: int, step: int, tol: float, mode: str = "max") -> int:
    """From `start`, walk in direction `step` while the signal keeps (within `tol`) rising (mode "max")
    or falling ("min"); return the extreme frame met."""
    sign = 1.0 if mode == "max" else -1.0
    best, t = start, start
    while 0 <= t + step < len(signal):
        t += step
        if sign * signal[t] > sign * signal[best]:
            best = t
        elif sign * (signal[best] - signal[t]) > tol:
            break
    return best


def _run_start_before(condition: np.ndarray, end: int) -> int | None:
    """First frame of the run of True ending at `end` (condition[end] must be True); None if the run
    reaches frame 0 (the crossing is not in the video)."""
    t = end
    while t > 0 and condition[t - 1]:
        t -= 1
    return t if t > 0 else None


def _first_after(condition: np.ndarray, start: int) -> int | None:
    hits = np.flatnonzero(condition[start + 1 :])
    return int(start + 1 + hits[0]) if hits.size else None


def _wrist_by_peak_speed(track: Track) -> tuple[str, str]:
    """(hitting / throwing wrist, the other): the wrist with the larger peak speed."""
    left, right = (float(track.speed(w).max()) for w in _WRISTS)
    return ("l_wrist", "r_wrist") if left >= right else ("r_wrist", "l_wrist")


def _or_midpoint(event: Event, lo: int, hi: int) -> Event:
    return event if event[0] is not None else ((lo + hi) // 2, False)


# ---- rules ------------------------------------------------------------------------------------------


def _squat(track: Track, notes: list[str]) -> list[Event]:
    hips, knees = track.height(*_HIPS), track.height(*_KNEES)
    depth = hips - track.height(*_ANKLES)
    bottom, bottom_found = _extreme(depth, mode="min")
    above = hips - knees  # > 0: hips above knee height
    level = 0.0
    if above[bottom] > 0:  # the hips stay above knee height in 2D: 15 % of the squat's range above its bottom
        level = above[bottom] + SHALLOW_SQUAT_LEVEL * (above.max() - above[bottom])
        notes.append(f"hips stay above knee height (2D): knee level taken {SHALLOW_SQUAT_LEVEL:.0%} of the range above the bottom")
    low = above <= level
    low[bottom] = True
    down = _run_start_before(low, bottom)
    up = _first_after(~low, bottom)
    speed = np.gradient(depth)
    down_event = (down, True) if down is not None else (_extreme(speed, 0, bottom, "min")[0], False)
    up_event = (up, True) if up is not None else (_extreme(speed, bottom + 1, None, "max")[0], False)
    return [down_event, (bottom, bottom_found), up_event]


def _jumping_jacks(track: Track) -> list[Event]:
    above = track.height(*_WRISTS) - track.height(*_SHOULDERS)  # > 0: hands above the shoulders
    apex, apex_found = _extreme(above, mode="max")
    high = above >= 0
    high[apex] = True
    rise = np.gradient(above)
    up = _run_start_before(high, apex)
    up_event = (up, apex_found and above[apex] >= 0) if up is not None else (_extreme(rise, 0, apex)[0], False)
    down = _first_after(~high, apex)
    down_event = (down, apex_found and above[apex] >= 0) if down is not None else (_extreme(rise, apex + 1, None, "min")[0], False)
    return [up_event, (apex, apex_found), down_event]


def _pendulum(track: Track, wrist: tuple[str, ...]) -> list[Event]:
    """Top before, and bottom after, the fastest descent of `wrist` relative to the hips."""
    height = track.height(*wrist) - track.height(*_HIPS)
    fall = np.gradient(height)
    fastest, found = _extreme(fall, mode="min")
    tol = 0.05 * float(np.ptp(height)) if np.ptp(height) > 0 else 0.0
    top = _walk(height, fastest, -1, tol, "max")
    bottom = _walk(height, fastest, +1, tol, "min")
    return [(top, found and 0 < top < fastest), (bottom, found and fastest < bottom < track.num_frames - 1)]


def _golf_swing(track: Track) -> list[Event]:
    return _pendulum(track, _WRISTS)


def _bowl(track: Track) -> list[Event]:
    rel = [track.height(w) - track.height(*_HIPS) for w in _WRISTS]
    wrist = _WRISTS[int(np.argmax([np.ptp(r) for r in rel]))]
    return _pendulum(track, (wrist,))


def _swing(track: Track, wrist: tuple[str, ...]) -> list[Event]:
    """Contact = peak speed of `wrist`; swung back = farthest back along the contact direction, before."""
    contact, found = _extreme(track.speed(*wrist), mode="max")
    v = track.velocity(*wrist)[max(0, contact - 1) : contact + 2].mean(axis=0)
    if contact < 2 or not np.linalg.norm(v) > 0:
        return [(None, False), (contact, found)]
    along = (track.point(*wrist) - track.point(*_SHOULDERS)) @ (v / np.linalg.norm(v))
    back, back_found = _extreme(along, 0, contact, "min")
    return [(back, back_found), (contact, found)]


def _baseball_swing(track: Track) -> list[Event]:
    return _swing(track, _WRISTS)


def _tennis_forehand(track: Track) -> list[Event]:
    return _swing(track, (_wrist_by_peak_speed(track)[0],))


def _baseball_pitch(track: Track) -> list[Event]:
    throwing, _ = _wrist_by_peak_speed(track)
    release, release_found = _extreme(track.speed(throwing), mode="max")
    knee = np.maximum(*(track.height(k) for k in _KNEES)) - track.height(*_HIPS)
    knee_up = _extreme(knee, 0, release, "max") if release > 0 else (None, False)
    start = knee_up[0] if knee_up[0] is not None else 0
    reach = np.linalg.norm(track.point(throwing) - track.point(*_SHOULDERS), axis=1)
    stretched = _or_midpoint(_extreme(reach, start + 1, release, "max"), start, release)
    return [knee_up, stretched, (release, release_found)]


def _tennis_serve(track: Track) -> list[Event]:
    hitting, tossing = _wrist_by_peak_speed(track)
    hips = track.height(*_HIPS)
    hit, toss = track.height(hitting) - hips, track.height(tossing) - hips
    contact, contact_found = _extreme(hit, mode="max")
    release = _extreme(toss, 0, contact, "max") if contact > 0 else (None, False)
    start = release[0] if release[0] is not None else 0
    drop = _or_midpoint(_extreme(hit, start + 1, contact, "min"), start, contact)
    return [release, drop, (contact, contact_found)]


def _clean_and_jerk(track: Track) -> list[Event]:
    hands, hips = track.height(*_WRISTS), track.height(*_HIPS)
    depth = hips - track.height(*_ANKLES)
    n = track.num_frames
    tol = 0.05 * float(np.ptp(hands))
    # the jerk first: the final rise of the hands to their highest point (the bar overhead)
    top = int(np.argmax(hands))
    start = _walk(hands, top, -1, tol, "min")
    rise = np.gradient(hands)
    if top - start >= 2:
        fastest = start + int(np.argmax(rise[start : top + 1]))
        slow = rise < 0.25 * rise[fastest]
        before = np.flatnonzero(slow[start:fastest])
        thrust = (start + int(before[-1]) if before.size else start, 0 < start)
        after = _first_after(slow, fastest)
        balance = (after, True) if after is not None else (None, False)
    else:
        thrust, balance = (None, False), (None, False)
    end = thrust[0] if thrust[0] is not None else n
    # the clean: the hands rise past the hips, the catch squat, standing up
    below = hands < hips
    first_below = int(np.argmax(below)) if below.any() else None
    at_hip = _first_after(~below, first_below) if first_below is not None else None
    bar_at_hip = (at_hip, at_hip is not None and at_hip < end)
    begin = at_hip if at_hip is not None else 0
    squat = _extreme(depth, begin + 1, end, "min") if end - begin > 1 else (None, False)
    standing: Event = (None, False)
    if squat[0] is not None and end - squat[0] > 1:
        s = squat[0]
        level = depth[s] + 0.9 * (depth[s:end].max() - depth[s])
        up = _first_after(depth >= level, s)
        standing = (up, up is not None and up < end)
    return [bar_at_hip, squat, standing, thrust, balance]


def _single(signal_fn: Callable[[Track], np.ndarray], mode: str) -> Callable[[Track], list[Event]]:
    return lambda track: [_extreme(signal_fn(track), mode=mode)]


def _hip_angle(track: Track) -> np.ndarray:
    """Shoulder-hip-knee angle (radians) of the body's mean side."""
    a = track.point(*_SHOULDERS) - track.point(*_HIPS)
    b = track.point(*_KNEES) - track.point(*_HIPS)
    cos = (a * b).sum(axis=1) / np.maximum(np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1), 1e-9)
    return np.arccos(np.clip(cos, -1.0, 1.0))


_RULE_FUNCTIONS: dict[str, Callable[[Track], list[Event]]] = {
    "baseball_pitch": _baseball_pitch,
    "baseball_swing": _baseball_swing,
    "bench_press": _single(lambda t: t.height(*_WRISTS) - t.height(*_SHOULDERS), "min"),
    "bowl": _bowl,
    "clean_and_jerk": _clean_and_jerk,
    "golf_swing": _golf_swing,
    "jumping_jacks": _jumping_jacks,
    "pullup": _single(lambda t: t.height("head") - t.height(*_WRISTS), "max"),
    "pushup": _single(lambda t: t.height("head") - t.height(*_WRISTS), "min"),
    "situp": _single(_hip_angle, "min"),
    "squat": _squat,
    "tennis_forehand": _tennis_forehand,
    "tennis_serve": _tennis_serve,
}
_WITH_NOTES = {_squat}
assert set(_RULE_FUNCTIONS) == set(RULES)


def _finalise(raw: list[Event], num_frames: int) -> tuple[list[int], list[bool]]:
    """Strictly increasing events inside [1, T - 1]; an event missing, out of order or moved is not found.

    A missing event goes halfway between its neighbours (the video's ends for the first / last).
    """
    k = len(raw)
    frames = [e for e, _ in raw]
    found = [bool(f) and e is not None for e, f in raw]
    for i, e in enumerate(frames):
        if e is None:
            lo = next((frames[j] for j in range(i - 1, -1, -1) if frames[j] is not None), 0)
            hi = next((frames[j] for j in range(i + 1, k) if frames[j] is not None), num_frames)
            frames[i] = (lo + hi) // 2
    events = [int(e) for e in frames]
    lowest = 1
    for i in range(k):  # forwards: each at least one past the previous and at least 1
        if events[i] < lowest:
            events[i], found[i] = lowest, False
        lowest = events[i] + 1
    highest = num_frames - 1
    for i in range(k - 1, -1, -1):  # backwards: each at most T - 1 and one before the next
        if events[i] > highest:
            events[i], found[i] = highest, False
        highest = events[i] - 1
    return events, found
