"""Which pip package registers an op that core TensorFlow lacks (op name or name prefix -> package).

Used by KC604 to name the package to install. Prefixes end with '*'; exact names win.
"""

from __future__ import annotations

# pip name -> the module that must be imported before loading (it registers the ops).
IMPORT_NAMES = {
    "tensorflow-text": "tensorflow_text",
    "tensorflow-addons": "tensorflow_addons",
    "tensorflow-decision-forests": "tensorflow_decision_forests",
    "tensorflow-io": "tensorflow_io",
    "tensorflow-recommenders-addons": "tensorflow_recommenders_addons",
    "tensorflow-probability": "tensorflow_probability",
    "sentencepiece": "sentencepiece",
    "tensorflow-hub": "tensorflow_hub",
}

OP_PACKAGES: dict[str, str] = {
    # tensorflow-text (tensorflow_text/core/kernels)
    "TFText>*": "tensorflow-text",
    "CaseFoldUTF8": "tensorflow-text",
    "NormalizeUTF8": "tensorflow-text",
    "NormalizeUTF8WithOffsetsMap": "tensorflow-text",
    "FindSourceOffsets": "tensorflow-text",
    "WhitespaceTokenize*": "tensorflow-text",
    "UnicodeScriptTokenize*": "tensorflow-text",
    "WordpieceTokenize*": "tensorflow-text",
    "RegexSplitWithOffsets": "tensorflow-text",
    "SplitMergeTokenize*": "tensorflow-text",
    "SplitMergeFromLogitsTokenize*": "tensorflow-text",
    "TokenizerFromLogits": "tensorflow-text",
    "Sentencepiece*": "tensorflow-text",
    "SentencepieceOp": "tensorflow-text",
    "ConstrainedSequence": "tensorflow-text",
    "MaxSpanningTree": "tensorflow-text",
    "NgramsStringJoin": "tensorflow-text",
    "RougeL": "tensorflow-text",
    "SpanAlignment": "tensorflow-text",
    "SpanOverlaps": "tensorflow-text",
    "ToddlerTokenize*": "tensorflow-text",
    "FastWordpiece*": "tensorflow-text",
    "FastBertNormalize*": "tensorflow-text",
    "BoiseOffsetsToTags": "tensorflow-text",
    "MecabTokenize*": "tensorflow-text",
    "UTF8Binarize": "tensorflow-text",
    "ByteSplitWithOffsets": "tensorflow-text",
    "FastSentencepiece*": "tensorflow-text",
    # tensorflow-addons
    "Addons>*": "tensorflow-addons",
    # tensorflow-decision-forests
    "SimpleMLInferenceOp*": "tensorflow-decision-forests",
    "SimpleMLCreateModelResource": "tensorflow-decision-forests",
    "SimpleMLLoadModelFromPath*": "tensorflow-decision-forests",
    "SimpleML*": "tensorflow-decision-forests",
    "YggdrasilDecisionForests*": "tensorflow-decision-forests",
    # tensorflow-io
    "IO>*": "tensorflow-io",
    # tensorflow-recommenders-addons
    "TFRA>*": "tensorflow-recommenders-addons",
    # SentencePiece's own TF ops (sentencepiece.tf / tf_sentencepiece)
    "SentencepieceEncode*": "tensorflow-text",
}


def package_for(op: str) -> str | None:
    if op in OP_PACKAGES:
        return OP_PACKAGES[op]
    best = None
    for key, package in OP_PACKAGES.items():
        if key.endswith("*") and op.startswith(key[:-1]) and (best is None or len(key) > len(best[0])):
            best = (key, package)
    return best[1] if best else None
