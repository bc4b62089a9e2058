"""The demo source: realistic support tickets (:mod:`.generator`, its texts in ``vocabulary.yaml``),
sent to Kafka by :mod:`.producer`, from the DAG's ``generate_tickets`` task or the command line
(``python -m ticket_demo.cli``). The pipeline itself never needs it."""
