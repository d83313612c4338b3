FROM maven:3.9-eclipse-temurin-21 AS deps
WORKDIR /build
COPY pom.xml .
RUN mvn -B -q dependency:go-offline

FROM deps AS package
COPY src ./src
RUN mvn -B -q package -DskipTests && cp target/*.jar /build/app.jar

FROM eclipse-temurin:21-jre AS runtime
RUN groupadd -r spring && useradd -r -g spring spring
WORKDIR /opt/app
COPY --from=package --chown=spring:spring /build/app.jar app.jar
USER spring
VOLUME /tmp
EXPOSE 8080
HEALTHCHECK CMD curl -fs http://localhost:8080/actuator/health || exit 1
ENTRYPOINT ["java", "-jar", "/opt/app/app.jar"]
