"""The embedded development broker: real Apache Kafka in KRaft mode, run from Maven Central jars.

One machine, no Docker: `regstream broker start` fetches the broker classpath once with Maven
(deploy/local/pom.xml), formats KRaft storage and runs `kafka.Kafka` as a child JVM per node.
"""
