#!/usr/bin/env python3
"""Render a tmux pane capture as an SVG picture of a dark terminal window.

Input (stdin) is the output of `tmux capture-pane -p -e -t TARGET`: text with
SGR escape sequences. Output (stdout) is an SVG with a fixed cell grid:

    ansi2svg.py --cols 140 --rows 40 --title "flightdeck" < capture.txt > out.svg

Standard library only. Box-drawing and block characters are drawn as vector
shapes so borders join exactly; every other glyph is text placed on its cell
(`textLength` pins each run to the grid). Wide characters (East Asian width
W/F) take two cells.
"""

import argparse
import re
import sys
import unicodedata
from xml.sax.saxutils import escape

# Geometry. DejaVu Sans Mono / Menlo advance is 1233/2048 em, so at 14 px a
# glyph is 8.43 px wide: the grid matches the font even where textLength is
# ignored (e.g. librsvg).
FONT_SIZE = 14
CELL_W = 8.43
CELL_H = 17
BASELINE = 13  # from the top of a cell
PAD_X = 14
PAD_Y = 12
TITLE_H = 34
FONT_FAMILY = "DejaVu Sans Mono, Menlo, Consolas, monospace"

BG = "#1e1e2e"
FG = "#d4d4d4"
TITLE_BG = "#181825"
FRAME = "#3a3a4e"
TITLE_FG = "#9399b2"

# Classic xterm palette, with blue lifted a little so it reads on a dark
# background.
PALETTE16 = [
    "#000000", "#cd0000", "#00cd00", "#cdcd00",
    "#2e62ee", "#cd00cd", "#00cdcd", "#e5e5e5",
    "#7f7f7f", "#ff0000", "#00ff00", "#ffff00",
    "#5c5cff", "#ff00ff", "#00ffff", "#ffffff",
]


def palette256(n):
    if n < 16:
        return PALETTE16[n]
    if n < 232:
        n -= 16
        levels = (0, 95, 135, 175, 215, 255)
        r, g, b = levels[n // 36], levels[(n // 6) % 6], levels[n % 6]
        return "#%02x%02x%02x" % (r, g, b)
    v = 8 + 10 * (n - 232)
    return "#%02x%02x%02x" % (v, v, v)


def mix(a, b, t):
    """Blends colour a towards b by t (0..1)."""
    ra, ga, ba = (int(a[i:i + 2], 16) for i in (1, 3, 5))
    rb, gb, bb = (int(b[i:i + 2], 16) for i in (1, 3, 5))
    return "#%02x%02x%02x" % (
        round(ra + (rb - ra) * t),
        round(ga + (gb - ga) * t),
        round(ba + (bb - ba) * t),
    )


class Style:
    __slots__ = ("fg", "bg", "bold", "dim", "italic", "underline", "reverse",
                 "hidden", "strike")

    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None  # None = default, else "#rrggbb"
        self.bg = None
        self.bold = self.dim = self.italic = self.underline = False
        self.reverse = self.hidden = self.strike = False

    def copy(self):
        s = Style.__new__(Style)
        for k in Style.__slots__:
            setattr(s, k, getattr(self, k))
        return s

    def colours(self):
        """Resolved (fg, bg) after defaults, reverse, dim and hidden."""
        fg = self.fg or FG
        bg = self.bg or BG
        if self.reverse:
            fg, bg = bg, fg
        if self.dim:
            fg = mix(fg, bg, 0.45)
        if self.hidden:
            fg = bg
        return fg, bg


def extended_colour(params, i):
    """Parses 38/48 arguments starting at params[i] (the 5 or 2); returns
    (colour or None, next index)."""
    if i >= len(params):
        return None, i
    kind = params[i]
    if kind == 5 and i + 1 < len(params):
        n = params[i + 1]
        return (palette256(n) if 0 <= n <= 255 else None), i + 2
    if kind == 2 and i + 3 < len(params):
        r, g, b = (max(0, min(255, v)) for v in params[i + 1:i + 4])
        return "#%02x%02x%02x" % (r, g, b), i + 4
    return None, len(params)


def apply_sgr(style, raw):
    if raw == "":
        style.reset()
        return
    params = []
    for field in raw.split(";"):
        if ":" in field:
            # ITU form, e.g. 38:2::r:g:b or 38:5:n or 4:3 (underline style).
            sub = [int(x) if x.isdigit() else 0 for x in field.split(":")]
            if sub[0] in (38, 48, 58) and len(sub) >= 3:
                if sub[1] == 2:
                    sub = [sub[0], 2] + sub[-3:]
                _apply_params(style, sub)
            elif sub[0] == 4:
                style.underline = len(sub) < 2 or sub[1] != 0
            else:
                _apply_params(style, sub[:1])
            continue
        params.append(int(field) if field.isdigit() else 0)
    _apply_params(style, params)


def _apply_params(style, params):
    i = 0
    while i < len(params):
        p = params[i]
        i += 1
        if p == 0:
            style.reset()
        elif p == 1:
            style.bold = True
        elif p == 2:
            style.dim = True
        elif p == 3:
            style.italic = True
        elif p in (4, 21):
            style.underline = True
        elif p == 7:
            style.reverse = True
        elif p == 8:
            style.hidden = True
        elif p == 9:
            style.strike = True
        elif p == 22:
            style.bold = style.dim = False
        elif p == 23:
            style.italic = False
        elif p == 24:
            style.underline = False
        elif p == 27:
            style.reverse = False
        elif p == 28:
            style.hidden = False
        elif p == 29:
            style.strike = False
        elif 30 <= p <= 37:
            style.fg = PALETTE16[p - 30]
        elif p == 38:
            colour, i = extended_colour(params, i)
            if colour:
                style.fg = colour
        elif p == 39:
            style.fg = None
        elif 40 <= p <= 47:
            style.bg = PALETTE16[p - 40]
        elif p == 48:
            colour, i = extended_colour(params, i)
            if colour:
                style.bg = colour
        elif p == 49:
            style.bg = None
        elif p == 58:  # underline colour: parse and ignore
            _, i = extended_colour(params, i)
        elif 90 <= p <= 97:
            style.fg = PALETTE16[p - 90 + 8]
        elif 100 <= p <= 107:
            style.bg = PALETTE16[p - 100 + 8]
        # anything else (blink, fonts, overline, ...) is ignored


TOKEN = re.compile(
    r"\x1b\[([0-9;:?<=>]*)([ -/]*)([@-~])"      # CSI
    r"|\x1b\].*?(?:\x07|\x1b\\)"                 # OSC
    r"|\x1b[PX^_].*?\x1b\\"                      # DCS/SOS/PM/APC
    r"|\x1b[ -/]*[0-~]"                          # other escapes
    r"|([^\x1b]+)"                               # text
    r"|\x1b",                                    # stray ESC
    re.S,
)


def char_width(ch):
    if unicodedata.combining(ch) or unicodedata.category(ch) in ("Mn", "Me", "Cf"):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def parse(text, cols, rows):
    """Returns a rows x cols grid of (char, Style) cells; the right half of a
    wide character is None. Style state carries across lines, as tmux only
    emits changes."""
    blank = Style()
    grid = [[(" ", blank) for _ in range(cols)] for _ in range(rows)]
    style = Style()
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    for y, line in enumerate(lines[:rows]):
        x = 0
        row = grid[y]
        for m in TOKEN.finditer(line):
            if m.group(3) is not None:
                if m.group(3) == "m" and not m.group(2) and not (
                        m.group(1) and m.group(1)[0] in "?<=>"):
                    apply_sgr(style, m.group(1))
                continue
            chunk = m.group(4)
            if chunk is None:
                continue
            snap = style.copy()
            for ch in chunk:
                if ch == "\t":
                    nxt = min(cols, (x // 8 + 1) * 8)
                    while x < nxt:
                        row[x] = (" ", snap)
                        x += 1
                    continue
                if ch < " " or ch == "\x7f":
                    continue
                w = char_width(ch)
                if w == 0:
                    # combining mark: attach to the previous glyph
                    px = x - 1
                    while px >= 0 and row[px] is None:
                        px -= 1
                    if px >= 0:
                        row[px] = (row[px][0] + ch, row[px][1])
                    continue
                if x + w > cols:
                    break
                row[x] = (ch, snap)
                if w == 2:
                    row[x + 1] = None
                x += w
    return grid


# --- box drawing ----------------------------------------------------------

DIRS = {"UP": "U", "RIGHT": "R", "DOWN": "D", "LEFT": "L"}
WEIGHTS = {"LIGHT": 1, "SINGLE": 1, "HEAVY": 2, "DOUBLE": 3}


def box_arms(ch):
    """Parses the Unicode name of a box-drawing line character into
    ({'U'|'R'|'D'|'L': 1 light, 2 heavy, 3 double}, is_arc), or None."""
    if not "\u2500" <= ch <= "\u257f":
        return None
    name = unicodedata.name(ch, "")
    if not name.startswith("BOX DRAWINGS ") or "DASH" in name or "DIAGONAL" in name:
        return None
    words = name[len("BOX DRAWINGS "):].split()
    arc = "ARC" in words
    arms, pending, prefix = {}, [], None
    for w in words:
        if w in ("AND", "ARC"):
            continue
        if w in WEIGHTS:
            if pending:
                for d in pending:
                    arms[d] = WEIGHTS[w]
                pending = []
            else:
                prefix = WEIGHTS[w]
            continue
        ds = {"HORIZONTAL": "LR", "VERTICAL": "UD"}.get(w) or DIRS.get(w)
        if ds is None:
            return None
        for d in ds:
            if prefix is not None:
                arms[d] = prefix
            else:
                pending.append(d)
    if pending or not arms:
        return None
    return arms, arc


VEC = {"U": (0, -1), "R": (1, 0), "D": (0, 1), "L": (-1, 0)}
OPP = {"U": "D", "D": "U", "L": "R", "R": "L"}
LIGHT_W = 1.2
HEAVY_W = 2.6
DOUBLE_GAP = 1.7  # half distance between the two lines of a double stroke


def fmt(v):
    s = "%.2f" % v
    s = s.rstrip("0").rstrip(".")
    return "0" if s == "-0" else s


def box_segments(arms, arc, x0, y0):
    """Yields (stroke width, path data) for one box-drawing cell."""
    w, h = CELL_W, CELL_H
    cx, cy = x0 + w / 2, y0 + h / 2
    half = {"U": h / 2, "D": h / 2, "L": w / 2, "R": w / 2}
    if arc:
        (a, b) = sorted(arms)  # e.g. D,R
        r = min(w, h) / 2
        (vx1, vy1), (vx2, vy2) = VEC[a], VEC[b]
        ex1, ey1 = cx + vx1 * half[a], cy + vy1 * half[a]
        ex2, ey2 = cx + vx2 * half[b], cy + vy2 * half[b]
        d = "M%s %sL%s %sQ%s %s %s %sL%s %s" % (
            fmt(ex1), fmt(ey1),
            fmt(cx + vx1 * r), fmt(cy + vy1 * r),
            fmt(cx), fmt(cy),
            fmt(cx + vx2 * r), fmt(cy + vy2 * r),
            fmt(ex2), fmt(ey2))
        yield LIGHT_W, d
        return
    doubles = any(v == 3 for v in arms.values())
    thick = HEAVY_W if any(v == 2 for v in arms.values()) else LIGHT_W
    g = DOUBLE_GAP
    for arm, weight in arms.items():
        vx, vy = VEC[arm]
        px, py = -vy, vx  # perpendicular (points to the arm's clockwise side)
        perp_pos = next(k for k, v in VEC.items() if v == (px, py))
        perp_neg = OPP[perp_pos]
        opposite = OPP[arm]
        edge = half[arm]
        if weight == 3:
            for s in (-g, g):
                side = perp_pos if s > 0 else perp_neg
                other = perp_neg if s > 0 else perp_pos
                if side in arms:
                    t = g if arms[side] == 3 else 0
                elif opposite in arms:
                    t = 0
                elif other in arms:
                    t = -g if arms[other] == 3 else 0
                else:
                    t = 0
                sx, sy = cx + px * s + vx * t, cy + py * s + vy * t
                ex, ey = cx + px * s + vx * edge, cy + py * s + vy * edge
                yield LIGHT_W, "M%s %sL%s %s" % (fmt(sx), fmt(sy), fmt(ex), fmt(ey))
            continue
        if doubles:
            perps = [p for p in (perp_pos, perp_neg) if p in arms]
            if opposite in arms:
                t = 0
            elif len(perps) == 2:
                t = g if arms[perps[0]] == 3 else 0
            elif len(perps) == 1:
                t = -g if arms[perps[0]] == 3 else 0
            else:
                t = 0
            t -= LIGHT_W / 2
        else:
            t = -thick / 2
        sw = HEAVY_W if weight == 2 else LIGHT_W
        sx, sy = cx + vx * t, cy + vy * t
        ex, ey = cx + vx * edge, cy + vy * edge
        yield sw, "M%s %sL%s %s" % (fmt(sx), fmt(sy), fmt(ex), fmt(ey))


# --- block elements ---------------------------------------------------------

def block_rects(ch):
    """Block element U+2580..U+259F as [(fx, fy, fw, fh, opacity)] in cell
    fractions, or None."""
    o = ord(ch)
    if not 0x2580 <= o <= 0x259F:
        return None
    if o == 0x2580:
        return [(0, 0, 1, 0.5, 1)]
    if 0x2581 <= o <= 0x2588:
        k = (o - 0x2580) / 8
        return [(0, 1 - k, 1, k, 1)]
    if 0x2589 <= o <= 0x258F:
        k = (0x2590 - o) / 8
        return [(0, 0, k, 1, 1)]
    if o == 0x2590:
        return [(0.5, 0, 0.5, 1, 1)]
    if 0x2591 <= o <= 0x2593:
        return [(0, 0, 1, 1, (o - 0x2590) * 0.25)]
    if o == 0x2594:
        return [(0, 0, 1, 0.125, 1)]
    if o == 0x2595:
        return [(0.875, 0, 0.125, 1, 1)]
    quads = {  # UL, UR, LL, LR
        0x2596: "LL", 0x2597: "LR", 0x2598: "UL", 0x2599: "UL LL LR",
        0x259A: "UL LR", 0x259B: "UL UR LL", 0x259C: "UL UR LR", 0x259D: "UR",
        0x259E: "UR LL", 0x259F: "UR LL LR",
    }
    pos = {"UL": (0, 0), "UR": (0.5, 0), "LL": (0, 0.5), "LR": (0.5, 0.5)}
    return [(pos[q][0], pos[q][1], 0.5, 0.5, 1) for q in quads[o].split()]


# --- SVG -------------------------------------------------------------------

def render(grid, cols, rows, title):
    term_w = cols * CELL_W
    term_h = rows * CELL_H
    width = term_w + 2 * PAD_X
    height = TITLE_H + term_h + 2 * PAD_Y
    ox, oy = PAD_X, TITLE_H + PAD_Y  # origin of cell (0, 0)

    out = []
    add = out.append
    add('<svg xmlns="http://www.w3.org/2000/svg" width="%s" height="%s" '
        'viewBox="0 0 %s %s">' % (fmt(width), fmt(height), fmt(width), fmt(height)))
    add('<defs><clipPath id="win"><rect width="%s" height="%s" rx="10"/></clipPath></defs>'
        % (fmt(width), fmt(height)))
    add('<g clip-path="url(#win)">')
    add('<rect width="%s" height="%s" fill="%s"/>' % (fmt(width), fmt(height), BG))
    add('<rect width="%s" height="%s" fill="%s"/>' % (fmt(width), TITLE_H, TITLE_BG))
    add('<path d="M0 %sH%s" stroke="%s" stroke-width="1"/>'
        % (TITLE_H - 0.5, fmt(width), FRAME))
    for i, colour in enumerate(("#ff5f57", "#febc2e", "#28c840")):
        add('<circle cx="%d" cy="%s" r="6" fill="%s"/>' % (20 + 20 * i, TITLE_H / 2, colour))
    add('<text x="%s" y="%s" text-anchor="middle" font-family="%s" font-size="13" '
        'fill="%s">%s</text>' % (fmt(width / 2), TITLE_H / 2 + 4.5, FONT_FAMILY,
                                 TITLE_FG, escape(title)))
    add('</g>')

    # Backgrounds: merged runs of equal colour per row.
    add('<g shape-rendering="crispEdges">')
    for y, row in enumerate(grid):
        x = 0
        while x < cols:
            cell = row[x]
            bg = cell[1].colours()[1] if cell else BG
            start = x
            x += 1
            while x < cols:
                c = row[x]
                if c is not None and c[1].colours()[1] != bg:
                    break
                x += 1
            if bg != BG:
                add('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"/>' % (
                    fmt(ox + start * CELL_W), fmt(oy + y * CELL_H),
                    fmt((x - start) * CELL_W), CELL_H, bg))
    add('</g>')

    # Box drawing and block elements as shapes; everything else as text.
    strokes = {}  # (colour, width) -> [path data]
    blocks = []
    texts = []
    for y, row in enumerate(grid):
        run = None  # [start col, chars, key]

        def flush():
            if run and "".join(run[1]).strip(" "):
                texts.append((y, run[0], "".join(run[1]), run[2]))

        x = 0
        while x < cols:
            cell = row[x]
            if cell is None:
                x += 1
                continue
            ch, st = cell
            fg, _ = st.colours()
            w = 2 if x + 1 < cols and row[x + 1] is None else 1
            x0, y0 = ox + x * CELL_W, oy + y * CELL_H
            arms = box_arms(ch) if len(ch) == 1 else None
            rects = block_rects(ch) if len(ch) == 1 else None
            if arms or rects:
                flush()
                run = None
                if arms:
                    for sw, d in box_segments(arms[0], arms[1], x0, y0):
                        strokes.setdefault((fg, sw), []).append(d)
                else:
                    for fx, fy, fw, fh, op in rects:
                        blocks.append((x0 + fx * CELL_W, y0 + fy * CELL_H,
                                       fw * CELL_W, fh * CELL_H, fg, op))
                if st.underline or st.strike:
                    texts.append((y, x, " ", (fg, st.bold, st.italic, st.underline,
                                              st.strike, w)))
                x += w
                continue
            key = (fg, st.bold, st.italic, st.underline, st.strike)
            if ch == " " and not (st.underline or st.strike):
                # a plain space: may sit inside a run, never starts one
                if run:
                    run[1].append(" ")
                x += 1
                continue
            ascii_ = len(ch) == 1 and " " < ch < "\x7f"
            if ascii_ and run and run[2][:5] == key and run[2][5] == 1:
                run[1].append(ch)
            else:
                flush()
                if ascii_:
                    run = [x, [ch], key + (1,)]
                else:
                    # non-ASCII glyphs stand alone, centred on their cells,
                    # so fallback fonts cannot shift their neighbours
                    texts.append((y, x, ch, key + (w,)))
                    run = None
            x += w
        flush()

    for (colour, sw), ds in strokes.items():
        add('<path fill="none" stroke="%s" stroke-width="%s" d="%s"/>'
            % (colour, fmt(sw), "".join(ds)))
    if blocks:
        add('<g shape-rendering="crispEdges">')
        for bx, by, bw, bh, colour, op in blocks:
            extra = ' fill-opacity="%s"' % fmt(op) if op != 1 else ""
            add('<rect x="%s" y="%s" width="%s" height="%s" fill="%s"%s/>'
                % (fmt(bx), fmt(by), fmt(bw), fmt(bh), colour, extra))
        add('</g>')

    add('<g font-family="%s" font-size="%d">' % (FONT_FAMILY, FONT_SIZE))
    for y, x, s, (fg, bold, italic, underline, strike, w) in texts:
        s = s.rstrip(" ") if not (underline or strike) else s
        attrs = ['fill="%s"' % fg]
        if bold:
            attrs.append('font-weight="bold"')
        if italic:
            attrs.append('font-style="italic"')
        deco = " ".join(d for d, on in (("underline", underline),
                                          ("line-through", strike)) if on)
        if deco:
            attrs.append('text-decoration="%s"' % deco)
        by = fmt(oy + y * CELL_H + BASELINE)
        if w == 1 and len(s) >= 1 and all(" " <= c < "\x7f" for c in s):
            attrs.append('x="%s" y="%s"' % (fmt(ox + x * CELL_W), by))
            if len(s) > 1:
                attrs.append('textLength="%s" lengthAdjust="spacing"'
                             % fmt(len(s) * CELL_W))
        else:
            attrs.append('x="%s" y="%s" text-anchor="middle"'
                         % (fmt(ox + (x + w / 2) * CELL_W), by))
        add('<text %s xml:space="preserve">%s</text>' % (" ".join(attrs), escape(s)))
    add('</g>')

    add('<rect x="0.5" y="0.5" width="%s" height="%s" rx="10" fill="none" '
        'stroke="%s"/>' % (fmt(width - 1), fmt(height - 1), FRAME))
    add('</svg>')
    return "\n".join(out) + "\n"


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cols", type=int, required=True, help="pane width in cells")
    ap.add_argument("--rows", type=int, required=True, help="pane height in cells")
    ap.add_argument("--title", default="", help="window title")
    args = ap.parse_args()
    if args.cols < 1 or args.rows < 1:
        ap.error("--cols and --rows must be positive")
    data = sys.stdin.buffer.read().decode("utf-8", errors="replace")
    grid = parse(data, args.cols, args.rows)
    sys.stdout.write(render(grid, args.cols, args.rows, args.title))


if __name__ == "__main__":
    main()
