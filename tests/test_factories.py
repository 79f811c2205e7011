import itertools
from pathlib import Path

from batchspec.spec.factories import NO_ITEM, SweepItems, blob_item, expand
from batchspec.spec.model import ContainerForeach, ItemsForeach, SweepForeach, SweepParameter


def test_sweep_is_the_cartesian_product_in_key_order() -> None:
    items = SweepItems(["a", "b"], [range(2), ["x", "y", "z"]])
    expected = [{"a": a, "b": b} for a, b in itertools.product(range(2), "xyz")]
    assert len(items) == 6
    assert list(items) == expected
    assert [items[i] for i in range(6)] == expected
    assert items[-1] == {"a": 1, "b": "z"}
    assert list(items[1:3]) == expected[1:3]
    assert list(items) == expected  # re-iterable


def test_big_sweep_is_lazy() -> None:
    items = SweepItems(["i", "j", "k"], [range(100), range(100), range(10)])
    assert len(items) == 100_000
    assert items[99_999] == {"i": 99, "j": 99, "k": 9}
    assert items[12_345] == {"i": 12, "j": 34, "k": 5}


def test_expand_forms() -> None:
    assert expand(None, []) == NO_ITEM
    assert expand(ItemsForeach(("a", {"b": 1}), ()), []) == ("a", {"b": 1})
    sweep = SweepForeach(
        (SweepParameter("n", range(1, 7, 2), ()), SweepParameter("s", (True,), ())), ()
    )
    assert list(expand(sweep, [])) == [
        {"n": 1, "s": True},
        {"n": 3, "s": True},
        {"n": 5, "s": True},
    ]
    blobs = [{"name": "a.txt"}, {"name": "b.csv"}, {"name": "c.txt"}]
    assert expand(ContainerForeach("in", None, ()), blobs) == tuple(blobs)
    assert expand(ContainerForeach("in", "*.txt", ()), blobs) == (blobs[0], blobs[2])


def test_blob_item_fields(tmp_path: Path) -> None:
    source = tmp_path / "data" / "report.tar.gz"
    item = blob_item("in/report.tar.gz", source, 12, tmp_path)
    assert item == {
        "name": "in/report.tar.gz",
        "stem": "report.tar",
        "suffix": ".gz",
        "size": 12,
        "path": "data/report.tar.gz",
    }
    outside = blob_item("README", Path("/elsewhere/README"), 0, tmp_path)
    assert (outside["stem"], outside["suffix"], outside["path"]) == (
        "README",
        "",
        "/elsewhere/README",
    )
    assert blob_item(".bashrc", tmp_path / ".bashrc", 1, tmp_path)["stem"] == ".bashrc"
