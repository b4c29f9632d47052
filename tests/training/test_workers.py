"""Data-parallel training: gradients averaged over worker processes joined on 127.0.0.1."""

import json

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from fim_server.model.tokenizer import load_tokenizer
from fim_server.training import train
from fim_server.training.workers import GradientSync, free_loopback_port


def _average_in_worker(rank: int, port: int, results) -> None:
    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2)
    try:
        weight = torch.nn.Parameter(torch.zeros(2, 3))
        weight.grad = torch.full((2, 3), float(rank + 1))  # worker 0 has 1s, worker 1 has 2s
        counters = GradientSync(2).average([weight], [10.0 * (rank + 1), 1.0])
        results[rank] = (weight.grad.tolist(), counters)
    finally:
        dist.destroy_process_group()


def test_gradients_averaged_counters_summed():
    with mp.Manager() as manager:
        results = manager.dict()
        mp.spawn(_average_in_worker, args=(free_loopback_port(), results), nprocs=2, join=True)
        results = dict(results)
    for rank in (0, 1):
        grad, counters = results[rank]
        assert grad == [[1.5] * 3, [1.5] * 3]
        assert counters == [30.0, 2.0]


def test_one_worker_leaves_gradients_alone():
    weight = torch.nn.Parameter(torch.zeros(2))
    weight.grad = torch.tensor([1.0, 3.0])
    assert GradientSync(1).average([weight], [4.0]) == [4.0]
    assert weight.grad.tolist() == [1.0, 3.0]


def test_two_workers_count_both_streams(tiny_corpus, train_tiny, tmp_path):
    run = tmp_path / "run"
    assert train_tiny(tiny_corpus, run, "--workers", "2", "--max-steps", "2", "--seed", "5") == 0
    state = torch.load(run / "checkpoint.pt", weights_only=False)
    assert state["step"] == 2
    # Each worker drew 2 examples per step from its own stream; the run counts the tokens of both.
    tokenizer = load_tokenizer(run / "tokenizer")
    config = train.FimDiffusionConfig(**state["config"])
    texts = train.load_texts(tiny_corpus / "train.jsonl")
    expected = 0
    for seed in (5, "5/worker1"):
        sampler = train.ExampleSampler(texts, tokenizer, config, seed=seed)
        expected += sum(int((sampler.batch(2).segment_ids != 3).sum()) for _ in range(2))
    assert state["tokens_seen"] == expected
    history = [json.loads(line) for line in (run / "history.jsonl").read_text().splitlines()]
    assert [record["step"] for record in history] == [2]


def test_batch_must_split_evenly(tiny_corpus, train_tiny, tmp_path, capsys):
    with pytest.raises(SystemExit) as exit:
        train_tiny(tiny_corpus, tmp_path / "run", "--workers", "3", "--max-steps", "1")
    assert exit.value.code == 2
    assert "does not split evenly over --workers 3" in capsys.readouterr().err


def test_cuda_without_gpu_rejected(tiny_corpus, train_tiny, tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a CUDA GPU")
    with pytest.raises(SystemExit) as exit:
        train_tiny(tiny_corpus, tmp_path / "run", "--device", "cuda", "--max-steps", "1")
    assert exit.value.code == 2
    assert "torch sees no CUDA GPU here" in capsys.readouterr().err


def test_auto_device_trains(tiny_corpus, train_tiny, tmp_path):
    run = tmp_path / "run"
    assert train_tiny(tiny_corpus, run, "--device", "auto", "--max-steps", "1") == 0
    state = torch.load(run / "checkpoint.pt", weights_only=False, map_location="cpu")
    expected = "cuda" if torch.cuda.is_available() else "cpu"
    # Checkpoints always load on the CPU; the weights themselves were trained on the chosen device.
    assert state["step"] == 1
    assert train._device(train.argparse.Namespace(device="auto", workers=1)).type == expected
