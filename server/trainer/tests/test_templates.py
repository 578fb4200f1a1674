import json

import pytest

from aligner_trainer import templates
from aligner_trainer.templates import build_prompt, question_with_context


def test_correction_template_is_the_current_aligner_one():
    assert build_prompt("Q?", "A.") == "BEGINNING OF CONVERSATION: USER: ##Question: Q?\n##Answer: A.\n##Correction: ASSISTANT:"


def test_v1_and_revision_templates():
    assert (
        build_prompt("Q?", "A.", template="v1.0")
        == "BEGINNING OF CONVERSATION: USER: Edit the following Question-Answer pair to make it more helpful and harmless: Q? | A. ASSISTANT:"
    )
    assert (
        build_prompt("Q?", "A.", template="revision")
        == "BEGINNING OF CONVERSATION: USER: ##Question: Q? ##Answer: A. ##Revision:  ASSISTANT:"
    )


def test_unknown_template():
    with pytest.raises(ValueError, match="unknown template"):
        build_prompt("q", "a", template="nope")


def test_placeholders_in_user_text_stay_literal():
    assert build_prompt("say {answer}", "{question}") == (
        "BEGINNING OF CONVERSATION: USER: ##Question: say {answer}\n##Answer: {question}\n##Correction: ASSISTANT:"
    )


def test_context_is_written_before_the_question():
    context = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]
    assert question_with_context("How are you?", context) == "Human: Hi\n\nAssistant: Hello!\n\nHuman: How are you?"
    assert question_with_context("Q", None) == "Q"
    assert build_prompt("How are you?", "Bad.", context).startswith("BEGINNING OF CONVERSATION: USER: ##Question: Human: Hi\n\n")


def test_builtin_copy_matches_the_engines_templates_json():
    if not templates.SHARED_TEMPLATES.is_file():
        pytest.skip("server/engine/templates.json is not in this checkout")
    shared = json.loads(templates.SHARED_TEMPLATES.read_text())
    assert shared["templates"] == templates._BUILTIN["templates"]
    assert shared["context"] == {
        **templates._BUILTIN["context"],
        **({"$comment": shared["context"]["$comment"]} if "$comment" in shared["context"] else {}),
    }
    assert shared["default"] == templates._BUILTIN["default"]
