"""The one exception type for input a visitor or user got wrong."""


class DataError(ValueError):
    """Bad input: the message says which file/row/item, what is wrong and what is expected."""
