"""Names of flow runs that have no `flow_run_name`: an adjective and an animal."""
from __future__ import annotations

import random

ADJECTIVES = (
    "amber", "bold", "brave", "bright", "calm", "clever", "cosmic", "crimson", "daring", "eager",
    "fancy", "fierce", "gentle", "golden", "happy", "hidden", "humble", "jolly", "keen", "lively",
    "lucky", "mellow", "merry", "misty", "nimble", "noble", "polite", "proud", "quick", "quiet",
    "rapid", "silver", "smart", "steady", "swift", "tidy", "vivid", "warm", "witty", "zesty",
)
ANIMALS = (
    "albatross", "badger", "beaver", "bison", "crane", "dingo", "dolphin", "eagle", "falcon",
    "ferret", "gazelle", "gecko", "heron", "ibis", "jaguar", "koala", "lemur", "lynx", "marmot",
    "narwhal", "ocelot", "otter", "panda", "pelican", "puffin", "quokka", "raven", "salmon",
    "seal", "stork", "tapir", "tiger", "toucan", "turtle", "walrus", "weasel", "wombat", "yak",
)


def random_run_name() -> str:
    return f"{random.choice(ADJECTIVES)}-{random.choice(ANIMALS)}"
