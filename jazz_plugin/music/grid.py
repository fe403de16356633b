"""The one musical grid: ticks, beats and bars, as the codec, the model and the clocks count.

A tick is 1/12 of a quarter note, so sixteenths (3) and eighth triplets (4) both fall on it.
We count in 4/4: every bar line, answer start and trading turn is on this grid.
"""

TICKS_PER_QUARTER = 12  # grid resolution: 3 = sixteenth, 4 = eighth triplet
TICKS_PER_BEAT = TICKS_PER_QUARTER  # a beat is a quarter note
BEATS_PER_BAR = 4  # 4/4
TICKS_PER_BAR = TICKS_PER_BEAT * BEATS_PER_BAR
