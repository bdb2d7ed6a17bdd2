import pytest

from pipeline.layouts import LAYOUTS, Layout, get_layout


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=lambda l: l.name)
def test_limbs_index_valid_joints(layout):
    for a, b in layout.limbs:
        assert 0 <= a < layout.num_joints and 0 <= b < layout.num_joints and a != b
    assert len(set(map(frozenset, layout.limbs))) == layout.num_limbs, "duplicate limb"


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=lambda l: l.name)
def test_flip_pairs_are_symmetric(layout):
    perm = layout.flip_permutation
    assert sorted(perm) == list(range(layout.num_joints))
    assert all(perm[perm[k]] == k for k in range(layout.num_joints)), "flip twice is not the identity"
    for a, b in layout.flip_pairs:  # a left joint flips to the right joint of the same name
        assert layout.joints[a].replace("l_", "", 1) == layout.joints[b].replace("r_", "", 1)
    limb_perm = layout.limb_flip_permutation
    assert all(limb_perm[limb_perm[l]] == l for l in range(layout.num_limbs))


@pytest.mark.parametrize("layout", LAYOUTS.values(), ids=lambda l: l.name)
def test_chains_follow_limbs(layout):
    limbs = set(map(frozenset, layout.limbs))
    for name, chain in layout.chains.items():
        for a, b in zip(chain[:-1], chain[1:]):
            assert frozenset((a, b)) in limbs, f"{layout.name} chain {name}: {a}-{b} is no limb"


def test_known_sizes_and_channel_order():
    assert (get_layout("penn_action").num_joints, get_layout("penn_action").num_limbs) == (13, 14)
    assert get_layout("body25").num_joints == 25 and get_layout("body25b").num_joints == 25
    assert get_layout("coco18").num_joints == 18 and get_layout("coco17").num_joints == 17
    assert get_layout("hands42").num_joints == 42 and get_layout("hand21").num_joints == 21
    penn = get_layout("penn_action")
    assert penn.channel_names[:13] == penn.joints and penn.channel_names[13] == "head-l_shoulder"
    # BODY_25B starts with the COCO-17 order
    assert get_layout("body25b").joints[:17] == get_layout("coco17").joints


def test_bad_layouts_are_refused():
    with pytest.raises(ValueError, match="does not join"):
        Layout(name="x", joints=("a", "b"), limbs=((0, 2),))
    with pytest.raises(ValueError, match="bad flip pair"):
        Layout(name="x", joints=("a", "b"), limbs=(), flip_pairs=((0, 0),))
    with pytest.raises(ValueError, match="unknown skeleton layout"):
        get_layout("nope")
