"""Metrics of the TCC / CASA / CARL protocol on hand-checkable tiny cases (pipeline/metrics)."""

from __future__ import annotations

import json
import time

import numpy as np
import pytest
from scipy.stats import kendalltau

from pipeline.metrics import (FrameRetrieval, KendallsTau, PhaseClassification, PhaseProgression, VideoEmbedding,
                              evaluate_action, evaluate_all, metrics_markdown, progress_targets,
                              select_training_videos, write_report)
from pipeline.metrics.kendall import tau_b_against_time
from pipeline.metrics.progression import boundary_frames


def video(emb, phases=None, vid="v", action="a", split="test"):
    emb = np.asarray(emb, dtype=np.float32)
    if emb.ndim == 1:
        emb = emb[:, None]
    if phases is None:
        phases = np.full(len(emb), -1)
    return VideoEmbedding(vid, action, split, emb, np.asarray(phases))


def phase_labels(t, k, rng=None):
    """(t,) ordered phases 0..k-1 with (optionally jittered) boundaries."""
    cuts = np.linspace(0, t, k + 1)[1:-1]
    if rng is not None:
        cuts = cuts + rng.integers(-2, 3, size=len(cuts))
    return np.searchsorted(np.sort(cuts), np.arange(t), side="right")


def onehot_videos(n, t=30, k=4, noise=0.05, split="test", seed=0, action="a"):
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        ph = phase_labels(t, k, rng)
        emb = np.eye(k)[ph] + noise * rng.standard_normal((t, k))
        out.append(video(emb, ph, f"{split}{i}", action, split))
    return out


# ---------------------------------------------------------------- types


def test_video_embedding_validates_shapes():
    with pytest.raises(ValueError):
        VideoEmbedding("v", "a", "test", np.zeros((5,)), np.zeros(5))
    with pytest.raises(ValueError):
        VideoEmbedding("v", "a", "test", np.zeros((5, 2)), np.zeros(4))
    v = VideoEmbedding("v", "a", "test", np.zeros((5, 2), dtype=np.float64), np.zeros(5, dtype=np.int16))
    assert v.embeddings.dtype == np.float32 and v.phases.dtype == np.int64


# ---------------------------------------------------------------- Kendall's tau


def test_kendall_identical_videos_is_one_and_reversed_is_minus_one():
    ramp = np.arange(20, dtype=np.float32)
    assert KendallsTau()([], [video(ramp, vid="a"), video(ramp, vid="b")]) == pytest.approx(1.0)
    assert KendallsTau()([], [video(ramp, vid="a"), video(ramp[::-1], vid="b")]) == pytest.approx(-1.0)
    # three copies: 6 ordered pairs, all 1
    assert KendallsTau().pair_taus([video(ramp, vid=str(i)) for i in range(3)]).tolist() == [1.0] * 6


def test_kendall_drops_nan_pairs():
    ramp = np.arange(10, dtype=np.float32)
    const = np.zeros(10, dtype=np.float32)
    # every frame of `ramp` has the same nearest frame (0) in `const` -> NaN; const -> ramp: nn all 0 -> NaN;
    # ramp -> ramp2 pairs are 1.
    videos = [video(ramp, vid="r1"), video(ramp, vid="r2"), video(const, vid="c")]
    taus = KendallsTau().pair_taus(videos)
    assert np.isnan(taus).sum() == 4 and np.nansum(taus) == pytest.approx(2.0)
    assert KendallsTau()([], videos) == pytest.approx(1.0)
    assert np.isnan(KendallsTau()([], [video(ramp, vid="r"), video(const, vid="c")]))
    assert np.isnan(KendallsTau()([], [video(ramp)]))  # no pair


def test_kendall_stride_subsamples_both_videos():
    # frames 0, 2, 4, ... of a are increasing; the odd frames are reversed: stride 2 sees only the ramp
    t = 20
    a = np.where(np.arange(t) % 2 == 0, np.arange(t), 100 - np.arange(t)).astype(np.float32)
    b = a.copy()
    stride2 = KendallsTau(stride=2).pair_taus([video(a, vid="a"), video(b, vid="b")])
    assert stride2 == pytest.approx([1.0, 1.0])
    # with stride 1 the nn index is the identity too (identical videos): check the length handled is T/2
    from pipeline.metrics.kendall import nearest_neighbour_indices
    nn = nearest_neighbour_indices(a[::2, None].astype(np.float64), [b[::2, None].astype(np.float64)])
    assert nn.shape == (1, t // 2) and nn[0].tolist() == list(range(t // 2))
    with pytest.raises(ValueError):
        KendallsTau(stride=0)


def test_kendall_pairs_only_within_an_action():
    ramp = np.arange(10, dtype=np.float32)
    videos = [video(ramp, vid="a1", action="x"), video(ramp[::-1], vid="b1", action="y"),
              video(ramp, vid="a2", action="x"), video(ramp[::-1], vid="b2", action="y")]
    assert KendallsTau()([], videos) == pytest.approx(1.0)  # reversed only across actions


def test_vectorised_tau_equals_scipy():
    rng = np.random.default_rng(1)
    for n in (2, 3, 7, 40):
        rows = np.concatenate([rng.integers(0, 5, (20, n)), rng.integers(0, 100, (20, n)),
                               np.zeros((1, n), dtype=int), np.arange(n)[None], np.arange(n)[None, ::-1]])
        ours = tau_b_against_time(rows)
        ref = np.array([kendalltau(np.arange(n), r).statistic for r in rows])
        np.testing.assert_allclose(ours, ref, atol=1e-12, equal_nan=True)


# ---------------------------------------------------------------- classification


def test_select_training_videos_counts_and_seed():
    for n, f, count in [(10, 0.1, 1), (10, 0.5, 5), (10, 1.0, 10), (7, 0.1, 1), (7, 0.5, 3), (3, 0.1, 1),
                        (25, 0.1, 2)]:
        chosen = select_training_videos(n, f, seed=0)
        assert len(chosen) == count == max(1, int(f * n))
        assert len(set(chosen.tolist())) == count
    assert select_training_videos(10, 0.5, seed=3).tolist() == select_training_videos(10, 0.5, seed=3).tolist()
    assert select_training_videos(10, 0.5, 3).tolist() == np.random.default_rng(3).permutation(10)[:5].tolist()
    assert select_training_videos(50, 0.5, 0).tolist() != select_training_videos(50, 0.5, 1).tolist()
    # nested subsets
    assert set(select_training_videos(10, 0.1, 0)) <= set(select_training_videos(10, 0.5, 0))
    assert len(select_training_videos(0, 0.5)) == 0
    with pytest.raises(ValueError):
        select_training_videos(10, 0.0)


def test_classification_onehot_is_perfect():
    train, test = onehot_videos(10, split="train"), onehot_videos(6, seed=1)
    acc = PhaseClassification()(train, test)
    assert list(acc) == ["0.1", "0.5", "1.0"]
    assert all(a > 99.0 for a in acc.values())


def test_classification_random_is_near_chance():
    rng = np.random.default_rng(0)
    def rand(n, split):
        return [video(rng.standard_normal((40, 8)), phase_labels(40, 4), f"{split}{i}", split=split)
                for i in range(n)]
    acc = PhaseClassification(fractions=(1.0,))(rand(10, "train"), rand(10, "test"))["1.0"]
    assert 10.0 < acc < 45.0  # chance is 25 %


def test_classification_single_class_and_unknown_frames():
    # training frames of one phase only: that phase is predicted everywhere
    train = [video(np.arange(6.0), [2] * 6, split="train")]
    test = [video(np.arange(4.0), [2, 2, 1, -1])]
    assert PhaseClassification(fractions=(1.0,))(train, test)["1.0"] == pytest.approx(100 * 2 / 3)
    # no labelled training frame -> NaN
    assert np.isnan(PhaseClassification(fractions=(1.0,))([video(np.arange(3.0), split="train")], test)["1.0"])


def test_classification_uses_the_seeded_subset():
    # video i's frames are all labelled i % 2; at 10 % of 10 videos one video is chosen, so only its
    # class can be predicted: an all-phase-0 test video scores 100 % or 0 % by the seeded choice.
    train = [video(np.full(5, float(i)), [i % 2] * 5, f"t{i}", split="train") for i in range(10)]
    test = [video(np.zeros(4), [0, 0, 0, 0])]
    outcomes = set()
    for seed in range(6):
        first = int(np.random.default_rng(seed).permutation(10)[0])
        acc = PhaseClassification(fractions=(0.1,), seed=seed)(train, test)["0.1"]
        assert acc == (100.0 if first % 2 == 0 else 0.0)
        outcomes.add(acc)
    assert outcomes == {0.0, 100.0}


def test_classification_rejects_mixed_actions():
    with pytest.raises(ValueError):
        PhaseClassification()(onehot_videos(2, action="x"), onehot_videos(2, action="y"))


# ---------------------------------------------------------------- progression


def test_progress_targets_follow_tcc():
    phases = np.array([0, 0, 1, 1, 1, 2])
    # t_0 = 1, t_1 = 4; targets (t - t_k) / 6
    expected = (np.arange(6)[:, None] - np.array([1, 4])[None]) / 6
    np.testing.assert_allclose(progress_targets(phases, 3), expected)


def test_progress_targets_absent_phases():
    # phase 1 absent: t_1 = t_0 = 1; phase 0 absent: t_0 = -1
    assert boundary_frames(np.array([0, 0, 2, 2]), 3).tolist() == [1, 1]
    assert boundary_frames(np.array([1, 1, 2, 2]), 3).tolist() == [-1, 1]
    # last phases absent (video stops early): boundaries at the last present phase's end
    assert boundary_frames(np.array([0, 1, 1, 1]), 4).tolist() == [0, 3, 3]
    assert progress_targets(np.array([0, 1]), 1).shape == (2, 0)


def test_progression_linear_embeddings_give_r2_one():
    rng = np.random.default_rng(0)
    def vids(n, split):
        out = []
        for i in range(n):
            t = int(rng.integers(30, 50))
            ph = phase_labels(t, 4, rng)
            emb = np.concatenate([progress_targets(ph, 4), rng.standard_normal((t, 2))], axis=1)
            out.append(video(emb, ph, f"{split}{i}", split=split))
        return out
    assert PhaseProgression()(vids(8, "train"), vids(5, "test")) == pytest.approx(1.0, abs=1e-6)


def test_progression_random_embeddings_are_poor_and_undefined_cases_nan():
    rng = np.random.default_rng(0)
    def vids(n, split):
        return [video(rng.standard_normal((40, 4)), phase_labels(40, 3), f"{split}{i}", split=split) for i in range(n)]
    assert PhaseProgression()(vids(8, "train"), vids(5, "test")) < 0.1
    assert np.isnan(PhaseProgression()(vids(2, "train"), []))
    one_phase = [video(np.arange(5.0), [0] * 5)]
    assert np.isnan(PhaseProgression()(one_phase, one_phase))


# ---------------------------------------------------------------- retrieval


def test_retrieval_onehot_is_perfect():
    ap = FrameRetrieval()([], onehot_videos(6, t=40))
    assert list(ap) == ["5", "10", "15"]
    assert all(v > 0.99 for v in ap.values())


def test_retrieval_excludes_the_query_video():
    # video q: phase 0 frames at 0..4 and phase 1 frames far away; video o: phase 1 frames near 0.
    # Within q, the nearest frames of each phase-0 frame are its own (same label); from o they're all wrong.
    q = video(np.concatenate([np.zeros(5), np.full(5, 100.0)]), [0] * 5 + [1] * 5, "q")
    o = video(np.concatenate([np.full(5, 0.1), np.full(5, 100.1)]), [1] * 5 + [0] * 5, "o")
    ap = FrameRetrieval(ks=(5,))([], [q, o])
    assert ap["5"] == pytest.approx(0.0)


def test_retrieval_counts_and_skips_unknown():
    # query a: frames at 0 (phase 0) and 10 (phase 1), one unknown frame. Candidates in b at 1,2 (phase 0)
    # and 11 (phase 1) and an unknown frame at 0 (not a candidate).
    a = video([0.0, 10.0, 0.0], [0, 1, -1], "a")
    b = video([1.0, 2.0, 11.0, 0.0], [0, 0, 1, -1], "b")
    from pipeline.metrics.retrieval import video_precisions
    p = video_precisions([a, b], ks=(1, 2, 3))
    # a: frame 0 -> K=1 [1.0]=hit; K=2 [1,2] both hit; K=3 [1,2,11] 2/3. frame 10 -> 11 hit; [11, 2] 1/2; 1/3
    np.testing.assert_allclose(p[0], [1.0, (1 + 0.5) / 2, (2 / 3 + 1 / 3) / 2])
    # b's queries: 1 -> [0] hit; 2 -> [0] hit; 11 -> [10] hit; K=2: all 1/2; K=3 (only 2 candidates): 1/2
    np.testing.assert_allclose(p[1], [1.0, 0.5, 0.5])
    ap = FrameRetrieval(ks=(1, 2, 3))([], [a, b])
    assert ap["1"] == pytest.approx(1.0) and ap["2"] == pytest.approx((0.75 + 0.5) / 2)


# ---------------------------------------------------------------- report


def test_report_keys_and_markdown(tmp_path):
    videos = (onehot_videos(6, split="train", action="x") + onehot_videos(4, seed=1, action="x")
              + onehot_videos(6, split="train", seed=2, action="y") + onehot_videos(4, seed=3, split="val", action="y"))
    results = evaluate_all(videos)
    assert list(results) == ["x", "y", "mean"]
    for r in results.values():
        assert set(r) == {"classification", "progression", "kendalls_tau", "ap"}
        assert list(r["classification"]) == ["0.1", "0.5", "1.0"] and list(r["ap"]) == ["5", "10", "15"]
    assert results["mean"]["kendalls_tau"] == pytest.approx(
        (results["x"]["kendalls_tau"] + results["y"]["kendalls_tau"]) / 2)
    assert results["mean"]["ap"]["5"] == pytest.approx((results["x"]["ap"]["5"] + results["y"]["ap"]["5"]) / 2)
    assert results["x"] == evaluate_action(videos[:6], videos[6:10])

    md = metrics_markdown(results, "LA2DS", "phase labels: derived, not ground truth")
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert len(table) == 2 + 3  # header, rule, x, y, mean
    assert "Class. 10 %" in table[0] and "AP@15" in table[0] and "Kendall's tau" in table[0]
    assert table[2].startswith("| x |") and table[4].startswith("| **mean** |")
    assert "phase labels: derived, not ground truth" in md

    json_path, md_path = write_report(results, tmp_path / "rep", "LA2DS", "note")
    loaded = json.loads(json_path.read_text())
    assert set(loaded) == {"x", "y", "mean"} and set(loaded["x"]) == {"classification", "progression",
                                                                        "kendalls_tau", "ap"}
    assert md_path.read_text().count("\n| ") == 4


def test_report_nan_is_null_and_mean_skips_nan(tmp_path):
    ramp = np.arange(10.0)
    videos = [video(ramp, vid="t", action="x", split="train"), video(ramp, vid="q", action="x")]
    results = evaluate_all(videos)  # one test video: no Kendall pair, no retrieval candidate
    assert np.isnan(results["x"]["kendalls_tau"]) and np.isnan(results["mean"]["kendalls_tau"])
    loaded = json.loads(write_report(results, tmp_path)[0].read_text())
    assert loaded["x"]["kendalls_tau"] is None and loaded["mean"]["ap"]["5"] is None
    assert "n/a" in metrics_markdown(results)


def test_runs_in_seconds_at_realistic_size():
    rng = np.random.default_rng(0)
    def vids(n, split):
        return [video(rng.standard_normal((100, 192)).astype(np.float32), phase_labels(100, 4), f"{split}{i}",
                      split=split) for i in range(n)]
    train, test = vids(20, "train"), vids(40, "test")  # 1560 Kendall pairs, 4000 retrieval queries
    start = time.perf_counter()
    KendallsTau()(train, test)
    FrameRetrieval()(train, test)
    PhaseProgression()(train, test)
    assert time.perf_counter() - start < 15.0  # about 3 s on 2 CPU cores


def test_standardize_rescues_embeddings_with_a_large_common_offset():
    """Phase information in tiny variations around big per-dimension offsets: SVC's gamma="scale"
    sees the offsets and predicts one class; standardising first recovers the phases."""
    from pipeline.metrics import PhaseClassification, VideoEmbedding

    rng = np.random.default_rng(0)
    offset = rng.normal(0, 3.0, 16)

    def video(i, split):
        phases = np.repeat([0, 1, 2], [30, 15, 15])
        emb = offset + 0.005 * np.eye(16)[phases] + 0.001 * rng.normal(size=(60, 16))
        return VideoEmbedding(f"v{i}", "a", split, emb, phases)

    train, test = [video(i, "train") for i in range(4)], [video(i, "test") for i in range(4, 6)]
    plain = PhaseClassification(fractions=(1.0,))(train, test)["1.0"]
    scaled = PhaseClassification(fractions=(1.0,), standardize=True)(train, test)["1.0"]
    assert plain == 50.0 and scaled > 95  # 50 %: every frame predicted as the majority phase
