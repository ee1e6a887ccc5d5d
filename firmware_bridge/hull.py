"""Lower convex hull of points in x order, kept over a sliding window (for the clock mapper).

:func:`chain` is the monotone chain (Andrew 1979) for a lower hull, collinear points
dropped; :func:`edge_at` picks the hull edge spanning an abscissa; :class:`WindowHull`
keeps the chain of a window whose points are appended on the right and removed on the
left, equal bit for bit to :func:`chain` run from scratch over the points it holds.
Used by :class:`firmware_bridge.clock.ClockMapper`; no knowledge of clocks here.
"""

from __future__ import annotations

__all__ = ["WindowHull", "chain", "edge_at"]


def chain(hx: list[float], hy: list[float], xs: list[float], ys: list[float]) -> None:
    """Extend the lower hull ``(hx, hy)`` (monotone chain, collinear points dropped) with
    the points ``xs, ys`` (sorted by x, right of the hull)."""
    n = len(hx)  # stack top; the lists are padded so that pushes overwrite in place
    pad = [0.0] * len(xs)
    hx.extend(pad)
    hy.extend(pad)
    for xi, yi in zip(xs, ys, strict=True):
        while n >= 2:
            ox = hx[n - 2]
            oy = hy[n - 2]
            if (hx[n - 1] - ox) * (yi - oy) - (hy[n - 1] - oy) * (xi - ox) <= 0:
                n -= 1
            else:
                break
        hx[n] = xi
        hy[n] = yi
        n += 1
    del hx[n:]
    del hy[n:]


def edge_at(hx: list[float], hy: list[float], xm: float) -> tuple[float, float] | None:
    """Intercept and slope of the hull edge spanning ``xm`` (the last edge if none)."""
    last = len(hx) - 2
    for j in range(last + 1):
        px, qx = hx[j], hx[j + 1]
        if qx >= xm or j == last:
            if qx == px:
                continue
            b = (hy[j + 1] - hy[j]) / (qx - px)
            return float(hy[j] - b * px), float(b)
    return None


class WindowHull:
    """Lower hull (monotone chain) of points appended on the right, removed on the left.

    The state after each operation is exactly the stack the monotone chain of
    :func:`chain` leaves when run from scratch over the points held (same float
    comparisons, hence the same vertices), so fits on it equal fits from scratch bit for
    bit. Points have sequence numbers; each keeps the stack top it was pushed on
    (``par``) and the points pushed on it (``kids``), which is the chain's whole history:
    the stack after any point ``s`` is ``s, par[s], par[par[s]], ...``.

    Removing the leftmost point ``k`` (the root) leaves the chain from ``k + 1``. If
    ``k + 1`` is still the second vertex, that chain is the same stack without ``k``.
    Otherwise, with ``v`` the second vertex, only the points up to ``v`` are chained
    again; after ``v`` the new chain repeats the old one's comparisons except where the
    old one stopped on ``v`` (its kids), compared now with ``v``'s new neighbour below:
    they are checked, and the chain is rerun from the first that differs, if any.
    """

    def __init__(self) -> None:
        self.clear()

    def clear(self) -> None:
        """Forget every point."""
        self.base = 0  # sequence number of the first slot of xs, ys, par, kids
        self.first = 0  # sequence number of the leftmost point held
        self.end = 0  # sequence number of the next point
        self.xs: list[float] = []
        self.ys: list[float] = []
        self.par: list[int] = []  # stack top the point was pushed on, -1 for the root
        self.kids: list[list[int]] = []  # points pushed on it, in increasing order
        self.stk: list[int] = []  # the hull: sequence numbers, and their coordinates
        self.sx: list[float] = []
        self.sy: list[float] = []

    def __len__(self) -> int:
        return self.end - self.first

    def push(self, x: float, y: float) -> None:
        """Append a point right of every point held."""
        self.xs.append(x)
        self.ys.append(y)
        self.par.append(-1)
        self.kids.append([])
        self.end += 1
        self._chain_from(self.stk, self.sx, self.sy, self.end - 1, self.end)

    def kept_under(self, x: float, y: float) -> int:
        """How many hull vertices stay when the chain goes on with ``(x, y)`` (unchanged)."""
        sx, sy = self.sx, self.sy
        n = len(sx)
        while n >= 2:
            ox = sx[n - 2]
            oy = sy[n - 2]
            if (sx[n - 1] - ox) * (y - oy) - (sy[n - 1] - oy) * (x - ox) <= 0:
                n -= 1
            else:
                break
        return n

    def popleft(self) -> None:
        """Remove the leftmost point."""
        k = self.first
        self.first = k + 1
        if self.first >= self.end:
            self.clear()
            self.base = self.first = self.end = k + 1
            return
        v = self.stk[1]
        if v == k + 1:  # the new root was never popped: same chain without the old root
            del self.stk[0], self.sx[0], self.sy[0]
            self.par[v - self.base] = -1
        else:
            self._reroot(v)
        dead = self.first - self.base
        if dead > 64 and 2 * dead > self.end - self.base:
            del self.xs[:dead], self.ys[:dead], self.par[:dead], self.kids[:dead]
            self.base = self.first

    def _chain_from(
        self, stk: list[int], sx: list[float], sy: list[float], start: int, stop: int
    ) -> None:
        """Chain the points ``start .. stop - 1`` onto the stack ``stk, sx, sy``, recording
        their ``par`` and ``kids`` (the same comparisons as :func:`chain`)."""
        base, xs, ys, par, kids = self.base, self.xs, self.ys, self.par, self.kids
        for s in range(start, stop):
            i = s - base
            x = xs[i]
            y = ys[i]
            n = len(stk)
            while n >= 2:
                ox = sx[n - 2]
                oy = sy[n - 2]
                if (sx[n - 1] - ox) * (y - oy) - (sy[n - 1] - oy) * (x - ox) <= 0:
                    n -= 1
                    stk.pop()
                    sx.pop()
                    sy.pop()
                else:
                    break
            kids[i] = []
            if n:
                top = stk[-1]
                par[i] = top
                kids[top - base].append(s)
            else:
                par[i] = -1
            stk.append(s)
            sx.append(x)
            sy.append(y)

    def _reroot(self, v: int) -> None:
        """Turn the chain from ``first - 1`` (second vertex ``v``) into the chain from
        ``first``."""
        base, xs, ys, par, kids = self.base, self.xs, self.ys, self.par, self.kids
        kids_v = kids[v - base]
        stk: list[int] = []
        sx: list[float] = []
        sy: list[float] = []
        self._chain_from(stk, sx, sy, self.first, v + 1)  # ends with v, pushed on sx[-2]
        ox, oy, vx, vy = sx[-2], sy[-2], sx[-1], sy[-1]
        at = 0
        for c in kids_v:  # the old chain stopped on v at c: does the new one?
            cx = xs[c - base]
            cy = ys[c - base]
            if (vx - ox) * (cy - oy) - (vy - oy) * (cx - ox) <= 0:
                break
            at += 1
        else:
            kids[v - base] = kids_v
            self.stk = stk + self.stk[2:]
            self.sx = sx + self.sx[2:]
            self.sy = sy + self.sy[2:]
            return
        # The chains agree up to c - 1: rebuild the stack then, and rerun from c.
        kids[v - base] = kids_v[:at]
        above: list[int] = []
        q = c - 1
        while q != v:
            above.append(q)
            q = par[q - base]
        for q in reversed(above):
            kq = kids[q - base]
            while kq and kq[-1] >= c:
                kq.pop()
            stk.append(q)
            sx.append(xs[q - base])
            sy.append(ys[q - base])
        self._chain_from(stk, sx, sy, c, self.end)
        self.stk, self.sx, self.sy = stk, sx, sy
