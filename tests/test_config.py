"""Engagement settings: defaults, validation with clear messages, JSON round trip."""

import pytest
from pydantic import ValidationError

from engagekit.config import EngagementConfig
from engagekit.errors import ConfigError


def test_defaults_match_the_specification():
    config = EngagementConfig()
    assert (config.lookback_days, config.exclusion_hours, config.min_sends) == (90, 24, 3)
    assert (config.most_engaged_share, config.least_engaged_share) == (0.2, 0.4)
    assert config.previous_period_days == 30
    assert config.click_weight > config.open_weight


def test_json_round_trip_and_frozen():
    config = EngagementConfig(lookback_days=60, click_weight=3)
    assert EngagementConfig.from_json(config.to_json()) == config
    with pytest.raises(ValidationError, match="frozen"):
        config.lookback_days = 10


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"most_engaged_share": 0.7, "least_engaged_share": 0.4},
         r"The most engaged share \(70%\) and the least engaged share \(40%\) add up to more than 100%"),
        ({"lookback_days": 0}, r"^Window \(days\) must be at least 1, not 0\.$"),
        ({"min_sends": -1}, "^Minimum sends to be judged must be at least 1, not -1"),
        ({"open_weight": 0, "click_weight": 0}, "cannot both be 0: give at least one of them a weight"),
        ({"exclusion_hours": 24 * 30, "lookback_days": 10}, "leaves nothing of a 10-day window"),
        ({"unknown": 1}, "There is no setting 'unknown'"),
    ],
)
def test_invalid_settings_name_the_field(changes, message):
    with pytest.raises(ConfigError, match=message):
        EngagementConfig.create(**changes)


def test_bad_json_is_a_config_error():
    with pytest.raises(ConfigError):
        EngagementConfig.from_json('{"min_sends": "many"}')
