Feature: Customer records are reviewed before they go stale
  A customer record nobody has reviewed for longer than the record_review table allows its tier
  (strategic 6 months, key 12, everyone else 24; counted from the last review, or from when the
  record was created) gets a review case. The reviewer checks the contact data and the
  classification with the customer, corrects what is wrong and marks the record reviewed, which
  stamps it and starts its interval afresh. A correction left out keeps what the record holds.

  Background:
    Given it is Monday 2 March 2026, 09:00 UTC
    And agent "ann" and account manager "kim" keep the customer records

  Scenario: A record falls due when its tier's interval has passed, and not before
    Given these customer records
      | customer | tier      | created    | reviewed   |
      | S-STALE  | strategic | 2024-01-10 | 2025-09-02 |
      | S-RECENT | strategic | 2024-01-10 | 2025-09-03 |
      | S-NEW    | strategic | 2025-12-01 |            |
      | K-STALE  | key       | 2025-03-02 |            |
      | K-NEW    | key       | 2025-03-03 |            |
      | O-STALE  | ordinary  | 2024-03-02 |            |
      | O-YEAR   | ordinary  | 2025-01-10 |            |
      | N-STALE  |           | 2024-01-05 |            |
    When the reviews are started on Monday 2 March 2026, 09:00 UTC
    Then reviews are opened for "K-STALE", "N-STALE", "O-STALE" and "S-STALE" only
    And the review of "S-STALE" is "due" in the "records" queue, for a "strategic" record last reviewed on 2025-09-02
    And the review of "O-STALE" is "due" in the "records" queue, for a "ordinary" record last reviewed on 2024-03-02
    And customer "S-STALE"'s history says a review was started because the record was 6 months old
    And customer "O-STALE"'s history says a review was started because the record was 24 months old

  Scenario: No second review while one is open
    Given strategic customer "S-1" has been on file since 2025-01-15
    And the reviews have been started on Monday 2 March 2026, 09:00 UTC
    When the operator runs "casework reviews start --as-of 2026-03-09 --json" on Monday 9 March 2026, 06:00 UTC
    Then the command opens no review and passes over "S-1" because it "has an open review"
    And customer "S-1" has one review

  Scenario: A review corrects the phone, keeps the e-mail and stamps the record reviewed
    Given strategic customer "S-2" has been on file since 2025-01-15 with e-mail "buying@s2.example" and phone "+49 30 1234"
    And the reviews have been started on Monday 2 March 2026, 09:00 UTC
    When "ann" starts the review of "S-2"
    Then the review is "reviewing" in the "records" queue and assigned to "ann"
    When 2 hours pass
    And "ann" marks it reviewed, contact and classification verified, with only the phone corrected to "+49 30 9876"
    Then the review is "done" and in no queue
    And customer "S-2" has the phone "+49 30 9876" and the e-mail "buying@s2.example"
    And customer "S-2" was last reviewed on Monday 2 March 2026, 11:00 UTC
    And customer "S-2"'s history shows what "ann", an agent, changed by "mark_reviewed" on the review
      | attribute   | old         | new                  |
      | phone       | +49 30 1234 | +49 30 9876          |
      | reviewed_at |             | 2026-03-02T11:00:00Z |
    And the review records the same change of the customer
    And an auditor finds every history intact

  Scenario: A record is not marked reviewed until its contact data and classification are verified
    Given strategic customer "S-3" has been on file since 2025-01-15
    And the reviews have been started on Monday 2 March 2026, 09:00 UTC
    And "kim" has started the review of "S-3"
    When "kim" tries to mark it reviewed with the contact verified but the classification not
    Then it is refused by the guard "case.contact_verified && case.classification_verified"
    When "kim" tries to mark it reviewed with only the contact verified
    Then it is refused because it needs the field "classification_verified"
    And the review is "reviewing" in the "records" queue and assigned to "kim"
    And customer "S-3" has never been reviewed

  Scenario: A reviewed record is not stale again until its interval has passed
    Given strategic customer "S-4" has been on file since 2025-01-15
    And the reviews have been started on Monday 2 March 2026, 09:00 UTC
    And "ann" has started the review of "S-4"
    And "ann" has marked it reviewed, contact and classification verified, with the region corrected to "Bavaria"
    When the reviews are started on Tuesday 1 September 2026, 09:00 UTC
    Then no review is opened
    When the reviews are started on Wednesday 2 September 2026, 09:00 UTC
    Then reviews are opened for "S-4" only
    And the review of "S-4" is "due" in the "records" queue, for a "strategic" record last reviewed on 2026-03-02
    And customer "S-4" has two reviews, the first one done
