"""Fast exact point-splatting z-buffer in plain torch (same code on CPU and CUDA; METHODS §1.2).

Rule (PyTorch3D's ``rasterize_points`` with ``points_per_pixel=1``, written in screen pixels):
pixel ``(row, col)`` is covered by point ``p`` iff ``(col - x_p)^2 + (row - y_p)^2 < r^2``
(strict, float32), with ``(x_p, y_p)`` the point's screen position and ``r`` the splat radius in
pixels. Among the points covering a pixel the one with the smallest depth owns it; equal depths
go to the lower point index. Points with ``depth <= max(znear, 0)`` are not drawn.

Algorithm, one pass per view, ``O(N K)`` work (``K`` = 21 candidate pixels for a 2-px radius):

1. Each drawable point gets a 64-bit key ``(float32 bits of its depth) << 32 | point index``.
   For positive floats the IEEE bit pattern is monotonic in the value, so comparing keys is
   comparing ``(depth, index)`` lexicographically: depth is not quantised beyond float32, and
   the lower index wins on equal depth.
2. The candidate pixels of a point are fixed offsets ``k`` from its nearest pixel ``round(x)``
   (:func:`splat_offsets`). Each is tested exactly against the point's continuous position:
   ``dx = k - frac`` with ``frac = x - round(x)`` (exact in float32) equals ``col - x`` bit for
   bit, so the test is the reference's. Offsets that every position covers skip the test.
3. The keys are scatter-min'd (``Tensor.scatter_reduce_(..., "amin")``, deterministic and
   order-independent) into a padded per-pixel buffer; a candidate failing the test scatters the
   empty value instead (``key | EMPTY == EMPTY``), a no-op. Points are first sorted by image row
   so that the scatters walk memory in order (about 2x faster on the CPU; the result does not
   depend on it).
4. The low 32 bits of each pixel's minimum are its point; the empty value's low bits read -1.

On the CPU the same steps run in numpy (:func:`_draw_numpy`, issue 17 fourth round: whole
16,384-point steps, the squared distances of all candidate offsets in one operation, the
empty key by a multiply instead of a select, the row order by numpy's radix sort), with the
scatter-min by torch on the same memory; the views are drawn by ``torch.get_num_threads()``
Python threads, each with its own z-buffer (numpy never forks OpenMP teams; on a shared machine
those teams wait for busy cores). On other devices (CUDA) the steps are torch ops
(:func:`_draw`). The pixels do not depend on the threads, the chunks or the path (scatter-min).

The result equals :func:`partlift.render.reference.rasterize_reference` exactly (tested).
"""

from __future__ import annotations

import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch

from partlift.errors import InputError
from partlift.render.buffers import host_empty

__all__ = ["splat_offsets", "rasterize", "radius2", "visible_points", "MAX_POINTS"]

# Candidate offsets are kept with this slack so that float rounding in ``round(x)`` can never
# drop a pixel that the exact test would accept (the exact test decides; extra candidates only
# cost time). The same slack decides which offsets are covered from every position.
_OFFSET_SLACK = 1e-3
# Empty pixel: int64 max. Valid keys are smaller (finite float32 bits are < 0x7F800000), and the
# low 32 bits (0xFFFFFFFF) read -1 as int32.
_EMPTY = torch.iinfo(torch.int64).max
_INDEX_BITS = 32
MAX_POINTS = 2**31 - 1
# Points per step of the CPU (numpy) path: its temporaries stay in the L2 cache.
_NUMPY_CHUNK = 16_384


def radius2(radius_px: float) -> torch.Tensor:
    """The squared splat radius as the float32 scalar both rasterisers compare against."""
    r = torch.tensor(radius_px, dtype=torch.float32)
    return r * r


def splat_offsets(radius_px: float) -> tuple[list[tuple[int, int]], list[bool]]:
    """Pixel offsets ``(dx, dy)`` from a point's nearest pixel that its splat can reach.

    A point at ``x = round(x) + f`` with ``|f| <= 1/2`` covers pixel ``round(x) + k`` only if
    ``|k| - 1/2 < r``; in 2D only if ``max(|kx| - 1/2, 0)^2 + max(|ky| - 1/2, 0)^2 < r^2``. It
    covers it from every position if ``(|kx| + 1/2)^2 + (|ky| + 1/2)^2 < r^2``.

    Returns:
        ``offsets``: K ``(dx, dy)`` int pairs, row-major (K = 21 for r = 2 px, 9 for r = 1 px),
        and ``always``: K bools, True where every point position covers that offset.
    """
    if not (isinstance(radius_px, (int, float)) and math.isfinite(radius_px) and radius_px > 0):
        raise InputError(f"splat radius must be a positive number of pixels, got {radius_px!r}")
    r2 = float(radius_px) ** 2
    kmax = int(math.floor(radius_px + 0.5 + _OFFSET_SLACK))
    offsets, always = [], []
    for ky in range(-kmax, kmax + 1):
        for kx in range(-kmax, kmax + 1):
            gx = max(abs(kx) - 0.5 - _OFFSET_SLACK, 0.0)
            gy = max(abs(ky) - 0.5 - _OFFSET_SLACK, 0.0)
            if gx * gx + gy * gy < r2:
                offsets.append((kx, ky))
                fx, fy = abs(kx) + 0.5 + _OFFSET_SLACK, abs(ky) + 0.5 + _OFFSET_SLACK
                always.append(fx * fx + fy * fy < r2 * (1.0 - _OFFSET_SLACK))
    return offsets, always


def rasterize(
    screen_xy: torch.Tensor,
    depth: torch.Tensor,
    image_size: int,
    radius_px: float,
    znear: float,
    *,
    threads: int | None = None,
) -> torch.Tensor:
    """The pixel -> point map of every view (the z-buffer of METHODS §1.2).

    Args:
        screen_xy: (V, N, 2) float32 screen positions (x = column, y = row, pixels, origin at the
            top-left pixel centre), e.g. from :func:`partlift.render.camera.project_torch`.
        depth: (V, N) float32 camera-space depth.
        image_size: ``H = W`` in pixels.
        radius_px: splat radius in pixels (``point_radius * image_size / 2``).
        znear: points with ``depth <= max(znear, 0)`` are not drawn.
        threads: CPU threads drawing the views (None: ``torch.get_num_threads()``); the pixels
            do not depend on it. Ignored on other devices.

    Returns:
        (V, H, W) int64 tensor on ``screen_xy``'s device: the owning point, or -1.
    """
    _check_inputs(screen_xy, depth, image_size)
    threads = check_threads(threads)
    n_views, n = depth.shape
    h = w = int(image_size)
    dev = screen_xy.device
    offsets, always = splat_offsets(radius_px)
    kmax = max(max(abs(kx), abs(ky)) for kx, ky in offsets)
    z_min = max(float(znear), 0.0)
    out = host_empty((n_views, h, w), torch.int64, dev)
    views = list(range(n_views))
    if dev.type == "cpu":
        _rasterize_cpu(screen_xy, depth, out, radius_px, z_min, threads)
        return out
    # The points each view draws, sorted by image row (all views at once, then one sort each).
    base = torch.floor(screen_xy + 0.5)
    lo, hi = float(-kmax), float(w - 1 + kmax)
    keep = (depth > z_min) & ((base >= lo) & (base <= hi)).all(dim=2)
    row_dtype = torch.int16 if h + 4 * kmax < 2**15 else torch.int32
    all_index = torch.arange(n, dtype=torch.int64, device=dev)
    orders = []
    for v in range(n_views):
        idx = all_index if bool(keep[v].all()) else torch.nonzero(keep[v]).squeeze(1)
        rows = base[v, :, 1].index_select(0, idx).to(row_dtype)
        orders.append(idx.index_select(0, torch.sort(rows, stable=True).indices))
    del base, keep
    _draw(views, orders, screen_xy, depth, out, radius_px, max(n, 1))
    return out


def _rasterize_cpu(screen_xy: torch.Tensor, depth: torch.Tensor, out: torch.Tensor, radius_px: float,
                   z_min: float, threads: int) -> None:
    """:func:`rasterize` on the CPU: the same steps in numpy (:func:`_draw_numpy`), the scatter-min
    by torch on the same memory (issue 17, fourth round).

    The views are independent, so each of ``threads`` threads draws every
    workers-th view into its own z-buffer (numpy's loops and torch's scatter release the GIL;
    numpy never forks OpenMP teams). The pixels do not depend on the threads: a view's z-buffer
    is a scatter-min.
    """
    views = list(range(depth.shape[0]))
    workers = min(len(views), threads)
    args = (screen_xy.detach().contiguous().numpy(), depth.detach().contiguous().numpy(), out.numpy(), radius_px,
            z_min)
    if workers <= 1:
        _draw_numpy(views, *args)
        return
    inference = torch.is_inference_mode_enabled()

    def draw(part: list[int]) -> None:
        with torch.inference_mode(inference), torch.no_grad():
            _draw_numpy(part, *args)

    with ThreadPoolExecutor(workers) as pool:
        for job in [pool.submit(draw, views[i::workers]) for i in range(workers)]:
            job.result()


def check_threads(threads: int | None) -> int:
    """``threads`` checked (an integer >= 1), or ``torch.get_num_threads()`` for None."""
    if threads is None:
        return torch.get_num_threads()
    if isinstance(threads, bool) or not isinstance(threads, int) or threads < 1:
        raise InputError(f"render: threads must be an integer >= 1 or None (torch's thread count), got {threads!r}")
    return threads


def _draw_numpy(views: list[int], screen_xy: np.ndarray, depth: np.ndarray, out: np.ndarray, radius_px: float,
                z_min: float) -> None:
    """:func:`_draw` with numpy arrays on the CPU, ``views`` of ``out`` (issue 17, fourth round).

    The same float32 operations as :func:`_draw` (IEEE, so the same bits: ``floor(x + 0.5)``,
    ``x - base``, ``(frac - k)**2``, their sum and the strict comparison with the float32
    ``r**2``) on :data:`_NUMPY_CHUNK` points per step (the temporaries stay in cache), the
    squared distances of all candidate offsets in one operation, and the points ordered by
    image row with numpy's radix sort. Same pixels as :func:`_draw` and the reference (tested).
    """
    h = w = out.shape[1]
    offsets, always = splat_offsets(radius_px)
    kmax = max(max(abs(kx), abs(ky)) for kx, ky in offsets)
    pad = 2 * kmax
    wp, hp = w + 2 * pad, h + 2 * pad
    size = hp * wp
    span = (2 * kmax + 1) * (wp + 1)  # slack so that every offset's shifted view covers its candidates
    big = np.empty(size + span, dtype=np.int64)
    tbig = torch.from_numpy(big)
    targets = [tbig[(ky + kmax) * wp + (kx + kmax) :] for kx, ky in offsets]
    zbuf = big[:size].reshape(hp, wp)
    r2 = np.float32(radius2(radius_px).item())
    lo, hi = np.float32(-kmax), np.float32(w - 1 + kmax)
    row_dtype = np.int16 if h + 4 * kmax < 2**15 else np.int32
    low = np.little_endian
    for v in views:
        # The points this view draws (nearest pixel at most kmax outside the image, in front of
        # znear), in image-row order so that the scatters walk memory in order.
        base = np.floor(screen_xy[v] + np.float32(0.5))
        keep = depth[v] > np.float32(z_min)  # in float32, as torch compares with a Python float
        for j in range(2):
            keep &= base[:, j] >= lo
            keep &= base[:, j] <= hi
        idx = np.flatnonzero(keep)
        order = idx.take(np.argsort(base[:, 1].take(idx).astype(row_dtype), kind="stable"))
        del base, keep, idx
        big.fill(_EMPTY)
        for c0 in range(0, len(order), _NUMPY_CHUNK):
            _splat_numpy(order[c0 : c0 + _NUMPY_CHUNK], screen_xy[v], depth[v], targets, offsets, always, kmax,
                         pad, wp, r2)
        # The low 32 bits of each pixel's minimum: the point index, or -1 for _EMPTY.
        if low:
            out[v] = zbuf.view(np.int32).reshape(hp, wp, 2)[pad : pad + h, pad : pad + w, 0]
        else:
            out[v] = zbuf[pad : pad + h, pad : pad + w].astype(np.int32)


def _splat_numpy(idx: np.ndarray, screen_xy: np.ndarray, depth: np.ndarray, targets: list[torch.Tensor],
                 offsets: list[tuple[int, int]], always: list[bool], kmax: int, pad: int, wp: int,
                 r2: np.float32) -> None:
    """Scatter-min the candidates of the points ``idx`` of one view (steps 1-3 of the module doc).

    ``targets[i]``: the z-buffer shifted by offset ``i`` (as in :func:`_draw`).
    """
    # One 8-byte gather per point: the (x, y) float32 pair read as one int64.
    xy = screen_xy.view(np.int64).reshape(-1).take(idx).view(np.float32).reshape(-1, 2)
    base = np.floor(xy + np.float32(0.5))
    frac = xy - base  # exact in float32, |frac| <= 1/2
    bl = base.astype(np.int64)
    lin = (bl[:, 1] + (pad - kmax)) * wp + (bl[:, 0] + (pad - kmax))
    tlin = torch.from_numpy(lin)
    if np.little_endian:
        # (depth bits << 32) | index written as its two int32 halves (both non-negative:
        # depth > 0, index < 2**31), low half first: the same int64 in one pass each.
        halves = np.empty((len(idx), 2), dtype=np.int32)
        halves[:, 0] = idx
        halves[:, 1] = depth.view(np.int32).take(idx)
        key = halves.view(np.int64).reshape(-1)
    else:
        key = depth.take(idx).view(np.int32).astype(np.int64) << _INDEX_BITS
        key |= idx
    tkey = torch.from_numpy(key)
    # (x - col)**2 and (y - row)**2 for every candidate column / row offset k, then the squared
    # distance of every (kx, ky) (a few more than the offsets, all in one operation each).
    shifts = np.arange(-kmax, kmax + 1, dtype=np.float32)[:, None]
    sqx = frac[:, 0] - shifts
    sqx *= sqx
    sqy = frac[:, 1] - shifts
    sqy *= sqy
    d2 = sqy[:, None, :] + sqx[None, :, :]  # [ky + kmax, kx + kmax, point]
    tested = [(ky + kmax) * (2 * kmax + 1) + kx + kmax for (kx, ky), sure in zip(offsets, always, strict=True)
              if not sure]
    outside = (d2 >= r2).reshape(-1, len(idx)).take(tested, axis=0)
    # Outside the splat: the empty key (``key | EMPTY == EMPTY``), a no-op of the scatter-min.
    cand = np.multiply(outside, np.int64(_EMPTY), dtype=np.int64)
    cand |= key
    row = 0
    for sure, target in zip(always, targets, strict=True):
        if sure:
            target.scatter_reduce_(0, tlin, tkey, "amin")
        else:
            target.scatter_reduce_(0, tlin, torch.from_numpy(cand[row]), "amin")
            row += 1


def _draw(views: list[int], orders: list[torch.Tensor], screen_xy: torch.Tensor, depth: torch.Tensor,
          out: torch.Tensor, radius_px: float, chunk: int) -> None:
    """Z-buffer ``views`` into ``out`` (steps 1-4 of the module doc), ``chunk`` points per op.

    ``orders[v]``: the points view ``v`` draws (every candidate inside the padded buffer), in
    image-row order.
    """
    h = w = out.shape[1]
    dev = screen_xy.device
    offsets, always = splat_offsets(radius_px)
    kmax = max(max(abs(kx), abs(ky)) for kx, ky in offsets)
    # Buffer rows/cols are padded by 2 kmax so that every candidate of a kept point (nearest
    # pixel at most kmax outside the image) lands inside it.
    pad = 2 * kmax
    wp, hp = w + 2 * pad, h + 2 * pad
    size = hp * wp
    # The z-buffer, plus slack so that each offset's shifted view covers every candidate.
    big = torch.empty(size + (2 * kmax + 1) * (wp + 1), dtype=torch.int64, device=dev)
    zbuf = big[:size].view(hp, wp)
    r2 = radius2(radius_px).to(dev)
    chunk = max(1, int(chunk))
    band = max(1, chunk // wp)  # z-buffer rows per fill / copy op
    width = max(1, min(chunk, max((int(o.shape[0]) for o in orders), default=1)))
    sq = torch.empty((2, 2 * kmax + 1, width), dtype=torch.float32, device=dev)
    d2 = torch.empty(width, dtype=torch.float32, device=dev)
    cand_key = torch.empty(width, dtype=torch.int64, device=dev)
    for v in views:
        for r0 in range(0, hp, band):
            zbuf[r0 : r0 + band].fill_(_EMPTY)
        order = orders[v]
        for c0 in range(0, int(order.shape[0]), chunk):
            idx = order[c0 : c0 + chunk]
            m = int(idx.shape[0])
            xy, z = screen_xy[v].index_select(0, idx), depth[v].index_select(0, idx)
            base = torch.floor(xy + 0.5)
            frac = xy - base  # exact in float32, |frac| <= 1/2
            bl = base.to(torch.int64)
            # Index of the candidate at offset (-kmax, -kmax); offset (kx, ky) adds a view shift.
            lin = (bl[:, 1] + (pad - kmax)) * wp + (bl[:, 0] + (pad - kmax))
            key = (z.view(torch.int32).to(torch.int64) << _INDEX_BITS) | idx
            sq_ = sq[:, :, :m]
            for j in range(2 * kmax + 1):
                for axis in range(2):
                    s = sq_[axis, j]
                    torch.sub(frac[:, axis], float(j - kmax), out=s)
                    s.mul_(s)
            d2_, cand_key_ = d2[:m], cand_key[:m]
            for (kx, ky), sure in zip(offsets, always, strict=True):
                target = big[(ky + kmax) * wp + (kx + kmax) :]
                if sure:
                    target.scatter_reduce_(0, lin, key, "amin")
                    continue
                torch.add(sq_[0, kx + kmax], sq_[1, ky + kmax], out=d2_)
                torch.ge(d2_, r2, out=cand_key_)  # 1 = outside the splat
                cand_key_.mul_(_EMPTY).bitwise_or_(key)  # outside: _EMPTY, inside: key
                target.scatter_reduce_(0, lin, cand_key_, "amin")
        # int64 -> int32 keeps the low 32 bits: the point index, or -1 for _EMPTY.
        for r0 in range(0, h, band):
            out[v, r0 : r0 + band].copy_(zbuf[pad + r0 : pad + min(r0 + band, h), pad : pad + w].to(torch.int32))


def visible_points(pix2point: torch.Tensor, n_points: int) -> torch.Tensor:
    """(V, N) bool: point ``p`` is visible in view ``v`` iff it owns a pixel of ``pix2point[v]``.

    Args:
        pix2point: (V, H, W) int64 tensor, -1 = background.
        n_points: N.
    """
    n_views = pix2point.shape[0]
    if pix2point.device.type == "cpu":
        # Mark the owners in a table with one spare slot, where background (-1) lands: the same
        # booleans as counting them, without the count (issue 17, fourth round).
        table = np.zeros((n_views, n_points + 1), dtype=bool)
        p2p = pix2point.contiguous().numpy()
        for v in range(n_views):
            table[v][p2p[v].reshape(-1)] = True
        return torch.from_numpy(np.ascontiguousarray(table[:, :n_points]))
    visible = torch.empty((n_views, n_points), dtype=torch.bool, device=pix2point.device)
    shifted = torch.empty(pix2point[0].numel(), dtype=torch.int64, device=pix2point.device)
    for v in range(n_views):
        torch.add(pix2point[v].reshape(-1), 1, out=shifted)  # background -> bin 0
        counts = torch.bincount(shifted, minlength=n_points + 1)
        torch.gt(counts[1:], 0, out=visible[v])
    return visible


def _check_inputs(screen_xy: torch.Tensor, depth: torch.Tensor, image_size: int) -> None:
    if not isinstance(screen_xy, torch.Tensor) or screen_xy.ndim != 3 or screen_xy.shape[2] != 2 \
            or screen_xy.dtype != torch.float32:
        got = f"{tuple(screen_xy.shape)} {screen_xy.dtype}" if isinstance(screen_xy, torch.Tensor) \
            else type(screen_xy).__name__
        raise InputError(f"screen_xy: expected a (V, N, 2) float32 tensor, got {got}")
    if not isinstance(depth, torch.Tensor) or depth.shape != screen_xy.shape[:2] \
            or depth.dtype != torch.float32:
        got = f"{tuple(depth.shape)} {depth.dtype}" if isinstance(depth, torch.Tensor) \
            else type(depth).__name__
        raise InputError(f"depth: expected a (V, N) float32 tensor matching screen_xy, got {got}")
    if depth.shape[1] > MAX_POINTS:
        raise InputError(f"at most {MAX_POINTS} points can be rendered, got {depth.shape[1]}")
    if int(image_size) < 1:
        raise InputError(f"image_size: expected >= 1, got {image_size}")
