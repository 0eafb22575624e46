"""Every dataset kind, by the name the command line and the page use."""

from __future__ import annotations

from mining.export.kinds.base import BuildContext, Kind, LeftOut, RowProblem
from mining.export.kinds.preference import DPO, DPO_OPENAI, KTO
from mining.export.kinds.provenance import CORRECTIONS, GOLDEN
from mining.export.kinds.sft import SFT, SFT_OPENAI, SFT_TOKENIZED

KINDS: dict[str, Kind] = {kind.name: kind for kind in (SFT, SFT_OPENAI, SFT_TOKENIZED, DPO, DPO_OPENAI, KTO,
                                                       CORRECTIONS, GOLDEN)}

__all__ = ["KINDS", "BuildContext", "Kind", "LeftOut", "RowProblem"]
