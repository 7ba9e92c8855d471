"""Reading and writing data files: the canonical CSV layout and email tools' exports."""
