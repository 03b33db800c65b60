"""The offline tokenizer: ModernBERT-compatible special tokens and layout, a size that is a multiple of 64."""

from docketbert.core.tokenizer import load_tokenizer, smallest_id_dtype
from docketbert.data.tokenizer_training import main as train_tokenizer_cli
from docketbert.data.tokenizer_training import train_tokenizer


def test_trained_tokenizer_is_mlm_ready(tokenizer_dir):
    tokenizer = load_tokenizer(str(tokenizer_dir))
    assert len(tokenizer) == 2048
    ids = tokenizer("ORDER granting 56 Motion to Dismiss &amp; more")["input_ids"]
    assert ids[0] == tokenizer.cls_token_id and ids[-1] == tokenizer.sep_token_id
    assert (
        len(
            {
                tokenizer.cls_token_id,
                tokenizer.sep_token_id,
                tokenizer.mask_token_id,
                tokenizer.pad_token_id,
                tokenizer.unk_token_id,
            }
        )
        == 5
    )
    text = "MOTION for Extension of Time to File Answer re 1 Complaint"
    assert tokenizer.decode(tokenizer(text)["input_ids"], skip_special_tokens=True) == text
    assert smallest_id_dtype(len(tokenizer)) == "uint16" and smallest_id_dtype(50368) == "uint16"
    assert smallest_id_dtype(70000) == "uint32"


def test_small_corpus_is_padded_to_a_multiple_of_64(tmp_path):
    tokenizer = train_tokenizer(
        ["ORDER granting motion", "NOTICE of appearance"] * 20, vocab_size=1000, output_dir=tmp_path
    )
    assert len(tokenizer) == 1024
    assert len(load_tokenizer(str(tmp_path))) == 1024


def test_cli(tmp_path):
    corpus = tmp_path / "entries.txt"
    corpus.write_text("\n".join(f"ORDER granting {i} Motion to Dismiss" for i in range(200)))
    assert train_tokenizer_cli(["--input", str(corpus), "--output", str(tmp_path / "tok"), "--vocab-size", "600"]) == 0
    assert len(load_tokenizer(str(tmp_path / "tok"))) == 640
