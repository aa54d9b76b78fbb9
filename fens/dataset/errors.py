"""The error raised for a data set folder or file that cannot be used."""


class DatasetError(ValueError):
    """A data set folder, file or download is missing or malformed; the message names the path."""
