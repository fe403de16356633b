"""One table of the MIDI protocol numbers we use, as mido keeps its `messages/specs.py`.

Status bytes, their data lengths, and the controller numbers with a protocol meaning.
Every module takes its MIDI numbers from here; none writes a bare 0x90 or 123.
"""

# Channel voice messages: the high nibble of the status byte (low nibble = channel).
NOTE_OFF = 0x80
NOTE_ON = 0x90
POLY_PRESSURE = 0xA0
CONTROL_CHANGE = 0xB0
PROGRAM_CHANGE = 0xC0
CHANNEL_PRESSURE = 0xD0
PITCH_BEND = 0xE0
CHANNEL_DATA_BYTES = {NOTE_OFF: 2, NOTE_ON: 2, POLY_PRESSURE: 2, CONTROL_CHANGE: 2,
                      PROGRAM_CHANGE: 1, CHANNEL_PRESSURE: 1, PITCH_BEND: 2}

# System common messages.
SYSEX_START = 0xF0
MTC_QUARTER_FRAME = 0xF1
SONG_POSITION = 0xF2
SONG_SELECT = 0xF3
TUNE_REQUEST = 0xF6
SYSEX_END = 0xF7
SYSTEM_DATA_BYTES = {MTC_QUARTER_FRAME: 1, SONG_POSITION: 2, SONG_SELECT: 1, TUNE_REQUEST: 0}

# System real-time messages (single bytes, may arrive between another message's bytes).
CLOCK = 0xF8
START = 0xFA
CONTINUE = 0xFB
STOP = 0xFC
ACTIVE_SENSING = 0xFE
RESET = 0xFF
REALTIME_FIRST = 0xF8  # every byte from here up is real-time
CLOCK_MESSAGES = (CLOCK, START, CONTINUE, STOP, SONG_POSITION)

# Controller numbers with a meaning in the MIDI spec.
SUSTAIN_PEDAL = 64  # CC 64: damper pedal; < 64 up, >= 64 down
ALL_SOUND_OFF = 120  # channel mode message
RESET_ALL_CONTROLLERS = 121
ALL_NOTES_OFF = 123
PITCH_BEND_CENTER = (0x00, 0x40)  # LSB, MSB of 8192: no bend

DRUM_CHANNEL = 9  # zero-based channel 10, General MIDI percussion
PULSES_PER_QUARTER = 24  # MIDI clock rate


def kind(status: int) -> int:
    """The message kind of a channel status byte (its high nibble)."""
    return status & 0xF0


def channel(status: int) -> int:
    """The zero-based channel of a channel status byte."""
    return status & 0x0F
