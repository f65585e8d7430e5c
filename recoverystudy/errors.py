"""The exceptions and warnings raised by recoverystudy.

Every error derives from :class:`RecoveryStudyError` and, where it makes sense, from the matching
builtin (``ValueError``, ``KeyError``, ``OSError`` ...) so that generic ``except ValueError`` keeps
working.  Errors carry structured attributes (``respondent``, ``item``, ``value``, ``file``,
``line`` ...) as well as a plain-English message that says what is wrong, where, what was found and
what is allowed.

Warnings derive from :class:`RecoveryStudyWarning` (a ``UserWarning``) so that they can be filtered
as a family.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "RecoveryStudyError",
    "ArgumentError",
    "ArgumentTypeError",
    "InstrumentError",
    "InstrumentNotFoundError",
    "UnverifiedKeyError",
    "ScoringError",
    "InvalidResponseError",
    "DuplicateRespondentError",
    "MissingRespondentIdError",
    "UnknownScaleError",
    "MissingItemsError",
    "EmptyDataError",
    "SurveyReadError",
    "StatisticsError",
    "InsufficientDataError",
    "CodebookError",
    "ProjectStoreError",
    "ProjectStorageError",
    "ConcurrentEditError",
    "SchemaVersionError",
    "DocumentReadError",
    "DuplicateDocumentError",
    "QuoteNotFoundError",
    "AmbiguousQuoteError",
    "ExchangeError",
    "ImportFormatError",
    "UnsafeArchiveError",
    "UnsafeDocumentError",
    "UnsafeSurveyFileError",
    "UnsafeYAMLError",
    "RubricError",
    "AuditError",
    "PrivacyError",
    "RecoveryStudyWarning",
    "UnverifiedKeyWarning",
    "DerivedKeyWarning",
    "InvalidResponseWarning",
    "ProratingWarning",
    "FewClustersWarning",
    "SingularFitWarning",
    "ExclusionWarning",
    "UndefinedStatisticWarning",
    "ZeroVarianceWarning",
    "KeyingWarning",
    "ExchangeWarning",
]


class RecoveryStudyError(Exception):
    """Base class of every error raised on purpose by recoverystudy.

    Keyword arguments become attributes, so that code can react to *where* the problem is
    (``err.respondent``, ``err.item``, ``err.file``, ``err.line`` ...).
    """

    def __init__(self, message: str, **context: Any) -> None:
        super().__init__(message)
        self.message = message
        self.context = context
        for key, val in context.items():
            setattr(self, key, val)

    def __str__(self) -> str:  # keep the plain message; context is on attributes
        return self.message


# --- arguments -------------------------------------------------------------------------------------
class ArgumentError(RecoveryStudyError, ValueError):
    """An argument has a value that is not allowed (the message names the argument and the choices)."""


class ArgumentTypeError(ArgumentError, TypeError):
    """An argument is of the wrong kind (``None``, ``pd.NA``, a number where a name is needed ...)."""


# --- instruments and scoring -------------------------------------------------------------------
class InstrumentError(RecoveryStudyError, ValueError):
    """An instrument or key definition is invalid (names the file, the field and the problem)."""


class InstrumentNotFoundError(InstrumentError, LookupError):
    """No bundled instrument and no file of that name."""


class UnverifiedKeyError(RecoveryStudyError, ValueError):
    """A scale was requested whose scoring key is not established and no user key was supplied."""


class ScoringError(RecoveryStudyError, ValueError):
    """Base class of problems with the data handed to the scorer."""


class InvalidResponseError(ScoringError):
    """Out-of-range or non-numeric responses; ``.problems`` lists (respondent, item, value)."""


class DuplicateRespondentError(ScoringError):
    """The respondent id column contains duplicates."""


class MissingRespondentIdError(ScoringError):
    """Some rows have no respondent id (empty or missing) in the id column; ``.rows`` lists them."""


class UnknownScaleError(ScoringError, KeyError):
    """A scale name given to the scorer (``scales=``, ``min_answered=``) is not a scale of the instrument."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message


class MissingItemsError(ScoringError, KeyError):
    """Item columns named by the instrument were not found in the data."""

    def __str__(self) -> str:  # KeyError would otherwise repr() the message
        return self.message


class EmptyDataError(ScoringError):
    """The data frame has no rows (or no usable values)."""


class SurveyReadError(RecoveryStudyError, OSError):
    """A survey file could not be read (names the file and, where known, the line)."""


# --- statistics ----------------------------------------------------------------------------------
class StatisticsError(RecoveryStudyError, ValueError):
    """Base class of problems with the input to a statistical procedure."""


class InsufficientDataError(StatisticsError):
    """Too few groups, observations or clusters for the requested statistic."""


# --- qualitative workspace -------------------------------------------------------------------------
class CodebookError(RecoveryStudyError, ValueError):
    """A codebook definition is invalid (names the file, the code path and the problem)."""


class ProjectStoreError(RecoveryStudyError, RuntimeError):
    """The project file cannot be used as asked (missing, locked, corrupt, wrong object ...)."""


class SchemaVersionError(ProjectStoreError):
    """The project file was written by a newer (or unknown) schema version."""


class ProjectStorageError(ProjectStoreError, OSError):
    """The storage under a project failed: disk full, read-only, I/O error, or locked too long.

    ``err.file`` names the project file and ``err.reason`` is ``"full"``, ``"read-only"``,
    ``"io"``, ``"locked"`` or ``"checkpoint"``.
    """


class ConcurrentEditError(ProjectStoreError):
    """Someone else changed the same thing meanwhile; the edit was refused (optimistic concurrency)."""


class DocumentReadError(RecoveryStudyError, OSError):
    """A document could not be read: empty, binary, password-protected, corrupt or unsupported."""


class DuplicateDocumentError(ProjectStoreError, ValueError):
    """The same text (same SHA-256) is already in the project."""


class QuoteNotFoundError(RecoveryStudyError, LookupError):
    """A quote to be coded does not occur in the document."""


class AmbiguousQuoteError(RecoveryStudyError, LookupError):
    """A quote to be coded occurs more than once in the document."""


class ExchangeError(RecoveryStudyError, ValueError):
    """A REFI-QDA exchange file could not be written or read (names the file, the element and the problem)."""


class ImportFormatError(ExchangeError):
    """An exchange file (REFI-QDA .qdpx/.qdc ...) is malformed; names the file and element."""


class UnsafeArchiveError(ImportFormatError):
    """An archive or XML file tries something unsafe (entity expansion, path escape, zip bomb)."""


class UnsafeDocumentError(DocumentReadError, UnsafeArchiveError):
    """A document package (.docx, .odt) is a zip bomb or otherwise unsafe; both a DocumentReadError and an
    UnsafeArchiveError, with ``file``, ``member`` and ``reason``."""


class UnsafeSurveyFileError(SurveyReadError, UnsafeArchiveError):
    """A survey workbook (.xlsx) is a zip bomb or otherwise unsafe; both a SurveyReadError and an
    UnsafeArchiveError, with ``file``, ``member`` and ``reason``."""


class UnsafeYAMLError(RecoveryStudyError, ValueError):
    """A YAML file (instrument, key, codebook, rubric) is too large, nested too deeply or expands its aliases
    beyond the budget (a "billion laughs" attack); names the file and the ``reason``."""


# --- care-plan audit -------------------------------------------------------------------------------
class RubricError(RecoveryStudyError, ValueError):
    """An audit rubric is invalid (names the file, the criterion and the problem)."""


class AuditError(RecoveryStudyError, ValueError):
    """An audit operation was asked for something impossible (unknown plan, criterion, rating ...)."""


class PrivacyError(RecoveryStudyError, PermissionError):
    """An operation would put identifiable information where it must not go."""


# --- warnings --------------------------------------------------------------------------------------
class RecoveryStudyWarning(UserWarning):
    """Base class of every warning issued by recoverystudy."""


class UnverifiedKeyWarning(RecoveryStudyWarning):
    """Some scales were not scored because their key is not established."""


class DerivedKeyWarning(RecoveryStudyWarning):
    """A score rests on a key derived from item wording rather than a published key."""


class InvalidResponseWarning(RecoveryStudyWarning):
    """Invalid responses were turned into missing values (``on_invalid="missing"``)."""


class ProratingWarning(RecoveryStudyWarning):
    """Some scores were prorated from partially answered scales."""


class FewClustersWarning(RecoveryStudyWarning):
    """Inference rests on fewer clusters than the methods are reliable for."""


class SingularFitWarning(RecoveryStudyWarning):
    """A mixed model fit is singular (a variance component estimated at zero)."""


class ExclusionWarning(RecoveryStudyWarning):
    """Observations or groups were excluded from an analysis (they are listed in the result)."""


class UndefinedStatisticWarning(RecoveryStudyWarning):
    """A statistic is undefined for these data and is reported as NaN."""


class ZeroVarianceWarning(ExclusionWarning):
    """Items everyone answered the same way were left out of a reliability analysis (named in provenance)."""


class KeyingWarning(RecoveryStudyWarning):
    """Items correlate negatively with the rest of the scale (probably unreversed), or were reversed for it."""


class ExchangeWarning(RecoveryStudyWarning):
    """Something in an imported file was ignored or repaired (the message says what)."""
