"""The one exception type for user mistakes: the CLI prints its message on one line and exits 2."""


class UserError(Exception):
    """A mistake the user can fix (unknown recipe or key, corrupt file, wrong shape). The message names the fix."""


class TrainingDiverged(Exception):
    """The loss became NaN or Inf; the message names the step and the last good checkpoint."""
