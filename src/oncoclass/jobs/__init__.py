"""The library's jobs, one module each: reading inputs, training, predicting, and measuring.
The public names are gathered in :mod:`oncoclass.api`."""
