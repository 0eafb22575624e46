"""Embedding: every record's text as a vector, computed once per model and text and cached in the
workspace, so clustering, similar-call search and the export's leak guard never embed twice.

The pages and the command line use what is named here. The model itself loads only when texts
are embedded (importing this package loads no torch).
"""

from mining.embed.backends import BACKENDS
from mining.embed.vectors import (DEFAULT_MODEL, TEXT_CHOICES, ChunkEncoder, EmbeddingSettings, EmbedReport, Vectors,
                                  embed_query, embed_records, embedding_settings, encode, load_model, register_ids,
                                  save_embedding_settings, text_sql, text_vectors, vectors_for)

__all__ = ["BACKENDS", "DEFAULT_MODEL", "TEXT_CHOICES", "ChunkEncoder", "EmbedReport", "EmbeddingSettings",
           "Vectors", "embed_query", "embed_records", "embedding_settings", "encode", "load_model", "register_ids",
           "save_embedding_settings", "text_sql", "text_vectors", "vectors_for"]
