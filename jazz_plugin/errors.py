"""Error types whose message is a complete, one-line answer for the user.

The CLI prints any `JazzError` as one line and exits non-zero; anything else is a bug.
"""


class JazzError(Exception):
    """A problem with the user's input or setup, explained in one line."""

    exit_code = 2


class MidiFileError(JazzError):
    """A MIDI file that cannot be read or holds nothing usable."""


class ModelError(JazzError):
    """A model file that is missing, not ONNX, or not one of ours."""


class PortError(JazzError):
    """A MIDI port or API that cannot be opened."""


class ConfigError(JazzError):
    """A bad option, CC mapping or config file."""


class CorpusError(JazzError):
    """A training corpus that cannot give a single training window."""
