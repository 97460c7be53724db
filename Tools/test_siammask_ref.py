#!/usr/bin/env python3
"""Self-tests of the Python reference (a few seconds).  Run:  .venv/bin/python Tools/test_siammask_ref.py"""

import hashlib
import json
import re
import sys
import tempfile
import unittest
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parent))

from siammask_ref import checkpoint  # noqa: E402
from siammask_ref.crop import search_side, subwindow  # noqa: E402
from siammask_ref.model import (RefineGraph, SearchGraph, SiamMaskSharp, TemplateGraph,  # noqa: E402
                                TrackingFrameGraph, Widths, batch_norms, child_parameter_counts, scale_channels,
                                template_kernels)
from siammask_ref.weights import init_weights  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
SPEC = Path("/work/shared/docs/siammask-spec.md")
FIXTURE = REPO / "Models" / "fixture"


class OfficialNetwork(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        torch.set_num_threads(2)
        cls.model = SiamMaskSharp(1.0).eval()

    def test_parameter_counts(self):
        self.assertEqual(sum(p.numel() for p in self.model.parameters()), 21_482_052)
        self.assertEqual(child_parameter_counts(self.model), [("features", 14_048_832), ("rpn_model", 2_501_150),
                                                              ("mask_model", 2_266_753), ("refine_model", 2_665_317)])
        self.assertEqual(len(batch_norms(self.model)), 53)
        self.assertEqual(sum(v.numel() for k, v in self.model.state_dict().items()
                             if not k.endswith("num_batches_tracked")), 21_517_764)

    @unittest.skipUnless(SPEC.exists(), f"{SPEC} not present")
    def test_keys_and_shapes_match_spec_appendix(self):
        appendix = SPEC.read_text().split("## Appendix")[1]
        expected = [(m.group(1), tuple(int(d) for d in m.group(2).split(",") if d.strip()))
                    for m in re.finditer(r"^([\w.]+) \(([\d, ]*)\)", appendix, re.M)]
        got = [(k, tuple(v.shape)) for k, v in self.model.state_dict().items()]
        self.assertEqual(len(got), 356)
        self.assertEqual(got, expected)

    def test_graph_shapes(self):
        with torch.no_grad():
            zf = TemplateGraph(self.model)(torch.zeros(1, 3, 127, 127))
            outputs = SearchGraph(self.model)(torch.zeros(1, 3, 255, 255), zf)
            mask = RefineGraph(self.model)(outputs[3], outputs[4], outputs[5], outputs[2], torch.tensor([3, 21]))
        self.assertEqual(tuple(zf.shape), (1, 256, 7, 7))
        self.assertEqual([tuple(o.shape) for o in outputs], [(1, 10, 25, 25), (1, 20, 25, 25), (1, 256, 25, 25),
                                                             (1, 64, 125, 125), (1, 256, 63, 63), (1, 512, 31, 31)])
        self.assertEqual(tuple(mask.shape), (1, 1, 127, 127))


class WidthMultiplier(unittest.TestCase):
    def test_rounding_half_away_from_zero_never_below_one(self):
        self.assertEqual(scale_channels(4, 0.125), 1)     # 0.5 -> 1
        self.assertEqual(scale_channels(20, 0.125), 3)    # 2.5 -> 3
        self.assertEqual(scale_channels(4, 0.0625), 1)    # 0.25 -> 0 -> 1
        self.assertEqual(Widths.scaled(1.0), Widths(64, (64, 128, 256), 256, 256, (16, 4), (64, 16), (128, 32)))


class Refine(unittest.TestCase):
    def test_matches_explicit_pad_window_and_floor_nearest(self):
        torch.manual_seed(0)
        model = SiamMaskSharp(0.0625)
        init_weights(model, 3)
        r = model.refine_model
        f0, f1, f2 = torch.randn(1, 4, 125, 125), torch.randn(1, 16, 63, 63), torch.randn(1, 32, 31, 31)
        corr = torch.randn(1, 16, 25, 25)

        def up(x, n):  # source index floor(dst * in / out)
            index = torch.arange(n) * x.size(-1) // n
            return x[:, :, index][:, :, :, index]

        for y, x in [(12, 12), (3, 21), (0, 0), (24, 24)]:
            with torch.no_grad():
                q0 = F.pad(f0, [16] * 4)[:, :, 4 * y:4 * y + 61, 4 * x:4 * x + 61]
                q1 = F.pad(f1, [8] * 4)[:, :, 2 * y:2 * y + 31, 2 * x:2 * x + 31]
                q2 = F.pad(f2, [4] * 4)[:, :, y:y + 15, x:x + 15]
                u = r.deconv(corr[:, :, y, x].reshape(1, -1, 1, 1))
                u = r.post0(up(r.h2(u) + r.v2(q2), 31))
                u = r.post1(up(r.h1(u) + r.v1(q1), 61))
                u = r.post2(up(r.h0(u) + r.v0(q0), 127))
                self.assertTrue(torch.equal(u, r(f0, f1, f2, corr, torch.tensor([y, x]))))


class Crop(unittest.TestCase):
    def test_padding_colour_is_truncated_and_origin_rounds_half_to_even(self):
        image = np.arange(10 * 10 * 3, dtype=np.uint8).reshape(10, 10, 3)
        avg = np.array([10.9, 20.5, 30.1])
        # original 5: c = 3, x_min = round(1.5 - 3) = round(-1.5) = -2, y_min = round(0.5 - 3) = round(-2.5) = -2
        patch = subwindow(image, (1.5, 0.5), 5, 5, avg)[0].transpose(1, 2, 0)
        np.testing.assert_array_equal(patch[:2, :, :].reshape(-1, 3), np.tile([10, 20, 30], (10, 1)))
        np.testing.assert_array_equal(patch[:, :2, :].reshape(-1, 3), np.tile([10, 20, 30], (10, 1)))
        np.testing.assert_array_equal(patch[2:, 2:], image[:3, :3])

    def test_search_side_formula(self):
        s, rounded = search_side((162.0, 246.0))
        self.assertAlmostEqual(s, np.sqrt((246 + 204) * (162 + 204)) * 255 / 127, places=9)
        self.assertEqual(rounded, 815)


class TrackingFrame(unittest.TestCase):
    def test_matches_search_and_refine_graphs(self):
        """TrackingFrameGraph (kernels as inputs) = SearchGraph (zf) + RefineGraph at the same cell, on a random
        model with random (non-zero) BN statistics."""
        torch.manual_seed(5)
        model = SiamMaskSharp(0.125)
        init_weights(model, 7)
        for bn in batch_norms(model):
            bn[1].running_mean.uniform_(-0.2, 0.2)
            bn[1].running_var.uniform_(0.5, 2.0)
        model.eval()
        template, search = torch.rand(1, 3, 127, 127) * 255, torch.rand(1, 3, 255, 255) * 255
        with torch.no_grad():
            zf = TemplateGraph(model)(template)
            cls, loc, corr, f0, f1, f2 = SearchGraph(model)(search, zf)
            kernels = template_kernels(model, zf)
            for pos in [(12, 12), (3, 21), (0, 24)]:
                mask = RefineGraph(model)(f0, f1, f2, corr, torch.tensor(pos))
                got = TrackingFrameGraph(model, pos)(search, *kernels)
                for name, a, b in zip(TrackingFrameGraph.output_names, got, (cls, loc, mask)):
                    self.assertEqual(a.shape, b.shape, name)
                    scale = float(b.abs().max()) + 1e-6
                    self.assertLessEqual(float((a - b).abs().max()), 1e-5 * scale, f"{name} at {pos}")
        self.assertEqual([tuple(k.shape) for k in kernels], [(1, 32, 5, 5)] * 3)


class Checkpoints(unittest.TestCase):
    def test_every_variant_round_trips(self):
        model = SiamMaskSharp(0.0625)
        init_weights(model, 2)
        model.eval()
        inputs = [torch.rand(1, 4, 125, 125), torch.rand(1, 16, 63, 63), torch.rand(1, 32, 31, 31),
                  torch.rand(1, 16, 25, 25)]
        optimizer_state = checkpoint.sgd_optimizer_state(model, inputs)
        self.assertIsInstance(optimizer_state["param_groups"][0]["lr"], np.float64)
        self.assertIsInstance(optimizer_state["param_groups"][0]["momentum"], np.float64)
        with tempfile.TemporaryDirectory() as tmp:
            for variant in checkpoint.ALL_VARIANTS:
                path = Path(tmp) / variant.file_name
                checkpoint.save_checkpoint(model, variant, optimizer_state, path)
                checkpoint.verify_checkpoint(model, variant, path)
                raw = path.read_bytes()
                if variant.location == "cuda:0":
                    self.assertIn(b"cuda:0", raw)
                    self.assertIn(b"torch.cuda\nFloatStorage", raw)
                    self.assertIn(b"torch.cuda\nLongStorage", raw)
                    self.assertNotIn(b"torch\nFloatStorage", raw)


@unittest.skipUnless((FIXTURE / "manifest.json").exists(), "no committed fixture")
class Fixture(unittest.TestCase):
    def test_manifest_checksums_and_sizes(self):
        manifest = json.loads((FIXTURE / "manifest.json").read_text())
        for entry in manifest["files"]:
            data = (FIXTURE / entry["file"]).read_bytes()
            self.assertEqual(hashlib.sha256(data).hexdigest(), entry["sha256"], entry["file"])
            self.assertLess(len(data), 1_000_000, entry["file"])


if __name__ == "__main__":
    unittest.main()
