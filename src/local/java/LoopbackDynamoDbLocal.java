/*
 * Starts DynamoDB Local bound to loopback only (design §11). The jar's own ServerRunner builds Jetty
 * with `new Server(port)`, which listens on every interface and has no host option: a LAN peer could
 * then write the registry and the clients. This launcher builds the server through the jar's public
 * `ServerRunner.createServerFromCommandLineArgs` (same command line as `java -jar DynamoDBLocal.jar`),
 * then, before starting it:
 *
 * - binds each Jetty connector to 127.0.0.1;
 * - answers 421 to any request whose Host is not a loopback name, so a web page that rebinds its own
 *   DNS name to 127.0.0.1 (DNS rebinding) cannot reach the emulator as a same-origin target.
 *
 * After start it checks the socket the JVM really holds and exits with LOOPBACK_REFUSED if it is not
 * on a loopback address, so the stack refuses to run rather than run exposed. It prints READY_LINE on
 * stdout once it listens. Telemetry is never configured (the jar's main would set it up).
 *
 * Run in Java's single-file source mode (`java -cp DynamoDBLocal.jar LoopbackDynamoDbLocal.java …`),
 * which needs the `jdk.compiler` module in the runtime image (Debian's default-jre-headless has it).
 * Compiling costs seconds of CPU, so with `-Djwks.launcherCache=<dir>` it saves its own compiled
 * classes there and later starts run them from the class path.
 */
import java.io.InputStream;
import java.lang.reflect.Field;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.SocketAddress;
import java.nio.channels.ServerSocketChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.Paths;
import java.nio.file.StandardCopyOption;
import java.util.regex.Pattern;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.util.Callback;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

public final class LoopbackDynamoDbLocal {
  static final String HOST = "127.0.0.1";
  static final String READY_LINE = "jwks-loopback-launcher: listening on ";
  /** Exit status when the server would not be loopback-only (the Node side names it). */
  static final int LOOPBACK_REFUSED = 78;

  /** localhost, *.localhost, 127.0.0.0/8, [::1] (RFC 6761 §6.3; RFC 1122 §3.2.1.3), with or without a port. */
  private static final Pattern LOOPBACK_HOST = Pattern.compile(
      "^(?:localhost|[A-Za-z0-9.-]*\\.localhost|127(?:\\.(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)){3}|\\[?::1\\]?)\\.?$",
      Pattern.CASE_INSENSITIVE);

  static boolean isLoopbackHost(String host) {
    return host != null && LOOPBACK_HOST.matcher(host).matches();
  }

  private static void refuse(String message) {
    System.err.println("jwks-loopback-launcher: " + message);
    System.exit(LOOPBACK_REFUSED);
  }

  /** Answers 421 Misdirected Request unless the Host names loopback (RFC 9110 §15.5.20). */
  static final class HostGuard extends Handler.Wrapper {
    HostGuard(Handler emulator) {
      super(emulator);
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) throws Exception {
      if (!isLoopbackHost(request.getHttpURI().getHost())) {
        Response.writeError(request, response, callback, 421, "Host is not a loopback name");
        return true;
      }
      return super.handle(request, response, callback);
    }
  }

  /** Save the classes compiled in memory by the source launcher; nothing to do when run from them. */
  private static void saveCompiledCopy() {
    String dir = System.getProperty("jwks.launcherCache");
    if (dir == null) return;
    ClassLoader loader = LoopbackDynamoDbLocal.class.getClassLoader();
    // The nested class first: the Node side takes the main class's presence as "all saved".
    for (String name : new String[] {"LoopbackDynamoDbLocal$HostGuard", "LoopbackDynamoDbLocal"}) {
      try (InputStream in = loader.getResourceAsStream(name + ".class")) {
        if (in == null) return;
        Path target = Paths.get(dir);
        Path tmp = Files.createTempFile(target, name, ".tmp");
        Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
        Files.move(tmp, target.resolve(name + ".class"), StandardCopyOption.ATOMIC_MOVE);
      } catch (Exception e) {
        return; // only an optimisation: the next start compiles again
      }
    }
  }

  public static void main(String[] args) throws Exception {
    saveCompiledCopy();
    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    // The Jetty server is a private field: the jar offers no other way to reach its connector.
    Field field = DynamoDBProxyServer.class.getDeclaredField("server");
    field.setAccessible(true);
    Server server = (Server) field.get(proxy);

    for (Connector connector : server.getConnectors()) {
      if (!(connector instanceof ServerConnector)) refuse("unexpected connector " + connector);
      ((ServerConnector) connector).setHost(HOST);
    }
    server.setHandler(new HostGuard(server.getHandler()));

    proxy.start();
    // A taken port: the jar has printed "Could not start server on port …" and stopped Jetty.
    if (!server.isStarted()) System.exit(1);

    StringBuilder bound = new StringBuilder();
    for (Connector connector : server.getConnectors()) {
      Object transport = connector.getTransport();
      SocketAddress local =
          transport instanceof ServerSocketChannel ? ((ServerSocketChannel) transport).getLocalAddress() : null;
      InetAddress address = local instanceof InetSocketAddress ? ((InetSocketAddress) local).getAddress() : null;
      if (address == null || !address.isLoopbackAddress()) {
        server.stop();
        refuse("DynamoDB Local is not listening on loopback only (" + local + ")");
      }
      bound.append(bound.length() == 0 ? "" : " ").append(HOST).append(':').append(((InetSocketAddress) local).getPort());
    }
    if (bound.length() == 0) refuse("DynamoDB Local did not start listening");
    System.out.println(READY_LINE + bound);
  }
}
