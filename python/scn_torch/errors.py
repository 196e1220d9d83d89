"""The one error scn_torch raises for a file it cannot use.

Every refusal of a file (`load`, `read_safetensors`, `read_metadata`, `preprocess` of a path) is an
ExportError whose message is one line that names the file and the tensor or metadata key at fault, as scn's
own readers do (core/safetensors.cpp, models/checkpoint.cpp). It is a ValueError, so code written against the
older ValueError keeps working.
"""


class ExportError(ValueError):
    """A file that is not a usable scn export or checkpoint: one line naming the file and the tensor or key."""

    def __init__(self, message):
        super().__init__(one_line(message))


def one_line(text):
    """text with its control characters escaped: names and keys come from the file and may hold a newline (or a
    terminal escape), which must neither split the message nor reach the terminal raw."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def shown(value, limit=60):
    """repr(value) cut short: a hostile file can hold megabytes in one name or value."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 3] + "..."
